"""Fields of the API's shapes.

Input fields are strict about JSON types (docs/decisions.md, "Wire"): DRF coerces `123` into the string
"123", `"3"` and `3.0` into the integer 3 and `"yes"` into True; a JSON API should say that the client sent
the wrong type instead. Every writable field of an input serializer is one of the `Strict*` fields below,
and input serializers derive from `StrictSerializer`, which refuses (at import) a declared writable field
that is not strict. The only deliberate exception is `PortNumberField`: the final 2015 CLI sends port
numbers as strings of digits ("80").
"""

import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from .datetimes import RFC2822_PATTERN, format_rfc2822


@extend_schema_field(
    {"type": "string", "nullable": True, "pattern": RFC2822_PATTERN, "example": "Sun, 6 Apr 2014 17:59:42 +0000"}
)
class Rfc2822DateTimeField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return format_rfc2822(value)


# ---------------------------------------------------------------- strict input fields


def json_type(value) -> str:
    """The JSON name of a parsed JSON value's type, for error messages ("got a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class StrictField:
    """Marker of the fields that check the JSON type of what they are given (see `StrictSerializer`)."""

    default_error_messages = {"wrong_type": "Expected {expected}, got {got}."}
    expected = "a value"

    def fail_type(self, data):
        self.fail("wrong_type", expected=self.expected, got=json_type(data))


class StrictStringMixin(StrictField):
    """A string and nothing else: numbers, booleans, arrays and objects are refused, not turned into text.
    Mix it into any CharField subclass: `class StrictURLField(StrictStringMixin, serializers.URLField)`."""

    expected = "a string"

    def run_validation(self, data=empty):
        # Before CharField's own blank check, which calls str() on whatever it was given.
        if data is not empty and data is not None and not isinstance(data, str):
            self.fail_type(data)
        return super().run_validation(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictChoiceField(StrictField, serializers.ChoiceField):
    """One of the choices, given with the choices' own JSON type (a string for string choices)."""

    def to_internal_value(self, data):
        kinds = {json_type(choice) for choice in self.choice_strings_to_values.values()}
        if json_type(data) not in kinds:
            self.fail("wrong_type", expected=" or ".join(sorted(kinds)), got=json_type(data))
        return super().to_internal_value(data)


class StrictIntegerField(StrictField, serializers.IntegerField):
    """A JSON integer: not a boolean, not a decimal number (even 3.0), not a string ("3")."""

    expected = "an integer"

    def to_internal_value(self, data):
        if not _is_integer(data):
            self.fail_type(data)
        return int(data)


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"type": "string", "pattern": "^[0-9]+$"}]}
)
class PortNumberField(StrictIntegerField):
    """A port number, 1 to 65535: an integer, or a string of ASCII digits ("80", as the final 2015 CLI
    sends them), stored and shown as an integer. Not "80.0", not " 80", not "abc", not 80.0."""

    expected = "an integer or a string of digits"
    DIGITS = re.compile(r"[0-9]{1,10}")

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 65535)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and self.DIGITS.fullmatch(data):
            return int(data)
        return super().to_internal_value(data)


class StrictBooleanField(StrictField, serializers.BooleanField):
    """`true` or `false`: not "true", "yes", 1 or 0 (a JSON body has real booleans)."""

    expected = "true or false"

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail_type(data)
        return data


class StrictListField(StrictField, serializers.ListField):
    """A JSON array whose items its (strict) `child` checks."""

    expected = "an array"

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail_type(data)
        return super().to_internal_value(data)


class StrictDictField(StrictField, serializers.DictField):
    """A JSON object whose values its (strict) `child` checks."""

    expected = "an object"

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail_type(data)
        return super().to_internal_value(data)


class StrictListSerializer(serializers.ListSerializer):
    """`Nested(many=True)` of a StrictSerializer: an array of objects."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError([f"Expected an array, got {json_type(data)}."], code="wrong_type")
        return super().to_internal_value(data)


def _unstrict(field) -> str | None:
    """Why a writable field would take a JSON type it should refuse, or None if it is strict."""
    if field.read_only or isinstance(field, serializers.HiddenField):
        return None
    if isinstance(field, serializers.ListSerializer):
        # Its own list check is DRF's (an array or 400); its items are the nested serializer's.
        return _unstrict(field.child)
    if isinstance(field, StrictSerializer):
        return None
    if not isinstance(field, StrictField):
        return f"is {type(field).__name__}, which is not strict"
    child = getattr(field, "child", None)
    if child is not None:
        reason = _unstrict(child)
        return reason and f"has a child that {reason}"
    return None


class StrictSerializer(serializers.Serializer):
    """The base of every input serializer: the body and nested items are JSON objects, and each declared
    writable field is strict (a `Strict*` field, `PortNumberField`, or a nested StrictSerializer); any other
    field is refused when the class is defined, so a new field cannot silently coerce types."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            reason = _unstrict(field)
            if reason:
                raise ImproperlyConfigured(
                    f"{cls.__module__}.{cls.__qualname__}.{name} {reason}: input fields check JSON types; "
                    "use the Strict* fields of apps.core.fields (docs/decisions.md, Wire)."
                )

    @classmethod
    def many_init(cls, *args, **kwargs):
        listed = super().many_init(*args, **kwargs)
        if type(listed) is serializers.ListSerializer:
            listed.__class__ = StrictListSerializer
        return listed

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"Expected an object, got {json_type(data)}."]},
                code="wrong_type",
            )
        return super().to_internal_value(data)

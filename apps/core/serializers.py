"""Output serializers of the API's resources: the shapes on the wire, read fast."""

from operator import attrgetter

from rest_framework import serializers


class ReadSerializer(serializers.Serializer):
    """An output-only Serializer that reads its declared fields through accessors prepared once per class.

    DRF deep-copies every declared field for each serializer and resolves each field's `source` for every
    object with a generic walk (dicts, callables, missing relations); on a list page of 25 that was a fifth
    of the request's CPU (bench/api.py, cProfile). The resources' fields are plain attributes, properties
    and `get_<name>` methods, so each is read with one attrgetter or bound method and converted by the
    declared field's own `to_representation`; None stays None, as in DRF. `fields` (schema, input) is
    untouched.
    """

    def to_representation(self, instance):
        return {
            name: None if (value := read(instance)) is None else convert(value) for name, read, convert in self._readers
        }

    @property
    def _readers(self):
        readers = self.__dict__.get("_bound_readers")
        if readers is None:
            readers = [
                (name, getattr(self, method), _unchanged) if method else (name, read, convert)
                for name, read, method, convert in self._read_plan()
            ]
            self.__dict__["_bound_readers"] = readers
        return readers

    @classmethod
    def _read_plan(cls):
        plan = cls.__dict__.get("_plan")
        if plan is None:
            plan = []
            for name, field in cls._declared_fields.items():
                if field.write_only:
                    continue
                if isinstance(field, serializers.SerializerMethodField):
                    plan.append((name, None, field.method_name or f"get_{name}", None))
                else:
                    plan.append((name, attrgetter(field.source or name), None, field.to_representation))
            cls._plan = plan
        return plan


def _unchanged(value):
    return value

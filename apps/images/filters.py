import django_filters
from django import forms


class FlexibleBooleanField(forms.Field):
    """`True`/`true`/`1`/`yes` and their opposites, as Tastypie read them; anything else is a 400."""

    TRUE = {"true", "1", "yes", "on"}
    FALSE = {"false", "0", "no", "off"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        # The value goes in as a parameter: django-filter %-formats every message, so a `%` in it would raise.
        raise forms.ValidationError("%(value)r is not a boolean; use true or false.", params={"value": value})


class FlexibleBooleanFilter(django_filters.Filter):
    field_class = FlexibleBooleanField


class ImageFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    # The spec lists `unique_name` for images too; an image's name is already unique.
    unique_name = django_filters.CharFilter(field_name="name")
    is_private_image = FlexibleBooleanFilter()
    base_image = FlexibleBooleanFilter()
    starred = FlexibleBooleanFilter()
    docker_registry__host = django_filters.CharFilter(field_name="registry__host")


class RegistryFilter(django_filters.FilterSet):
    host = django_filters.CharFilter()
    name = django_filters.CharFilter()

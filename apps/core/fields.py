from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .datetimes import format_rfc2822


@extend_schema_field(OpenApiTypes.STR)
class Rfc2822DateTimeField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return format_rfc2822(value)

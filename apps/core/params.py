"""Query parameters several resources take the same way."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

REUSE_VOLUMES_FORMS = ("True", "False", "true", "false")
REUSE_VOLUMES = OpenApiParameter(
    "reuse_volumes", OpenApiTypes.STR, enum=list(REUSE_VOLUMES_FORMS), description="Default True."
)


def reuse_volumes(request) -> bool:
    """`?reuse_volumes=True|False` as the final SDK sends it (Python's booleans through requests), or
    `true|false` as Tutum documented it; absent means True."""
    value = request.query_params.get("reuse_volumes", "true")
    if value not in REUSE_VOLUMES_FORMS:
        raise ValidationError({"reuse_volumes": [f"Expected True or False, got {value!r}."]})
    return value.lower() == "true"

"""Images, tags and registries on the wire. No password ever appears in an output shape."""

from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField, StrictCharField, StrictSerializer
from apps.core.images import parse_image_reference


class RegistrySerializer(serializers.Serializer):
    """The registry object of the mid-2014 clients (`docker_registry` of an image, expanded)."""

    host = serializers.CharField()
    image_url = serializers.CharField()
    is_tutum_registry = serializers.BooleanField()
    name = serializers.CharField()
    resource_uri = serializers.CharField()
    uuid = serializers.UUIDField()


class ImageDetailsSerializer(serializers.Serializer):
    """The `image` object inside a tag: what inspecting it on a node showed."""

    author = serializers.CharField()
    docker_id = serializers.CharField()
    entrypoint = serializers.CharField()
    image_creation = Rfc2822DateTimeField()
    imageenvvar_set = serializers.ListField(source="envvars")
    imageport_set = serializers.ListField(source="ports")
    run_command = serializers.CharField()


class ImageTagSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    image = ImageDetailsSerializer(source="*")
    image_info = serializers.SerializerMethodField()
    name = serializers.CharField()
    resource_uri = serializers.CharField()

    def get_image_info(self, tag) -> str:
        return tag.image.resource_uri


class ImageSerializer(serializers.Serializer):
    """The list shape: tags as resource URIs."""

    base_image = serializers.BooleanField()
    cluster_aware = serializers.BooleanField()
    description = serializers.CharField()
    docker_registry = serializers.CharField(source="registry.resource_uri")
    image_url = serializers.SerializerMethodField()
    imagetag_set = serializers.SerializerMethodField()
    is_private_image = serializers.BooleanField()
    name = serializers.CharField()
    public_url = serializers.CharField()
    resource_uri = serializers.CharField()
    starred = serializers.BooleanField()

    def get_image_url(self, image) -> str:
        return ""

    def get_imagetag_set(self, image) -> list[str]:
        return [tag.resource_uri for tag in image.tags.all()]


class ImageDetailSerializer(ImageSerializer):
    """The detail shape (also answered by add and update): tags expanded."""

    imagetag_set = ImageTagSerializer(source="tags", many=True)


# ---------------------------------------------------------------- input


def _validate_repository(value: str) -> str:
    reference = parse_image_reference(value)
    if reference is None:
        raise serializers.ValidationError(
            f"{value!r} is not a valid image name, e.g. 'quay.io/user/my-private-image' or '127.0.0.1:5000/team/app'."
        )
    if reference.repository != value.strip():
        raise serializers.ValidationError("Give the image name without a tag, e.g. 'quay.io/user/my-private-image'.")
    return reference.repository


class ImageCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=255)
    username = StrictCharField(max_length=255)
    password = StrictCharField(max_length=4096, trim_whitespace=False, write_only=True)
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=65536)

    def validate_name(self, value):
        return _validate_repository(value)


class ImageUpdateSerializer(StrictSerializer):
    """PATCH: description and credentials. `name` is accepted only unchanged; anything else is refused."""

    name = StrictCharField(required=False, max_length=255)
    username = StrictCharField(required=False, max_length=255)
    password = StrictCharField(required=False, max_length=4096, trim_whitespace=False, write_only=True)
    description = StrictCharField(required=False, allow_blank=True, max_length=65536)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = "description, username, password"
                raise serializers.ValidationError(
                    {f: [f"This field cannot be updated; allowed: {allowed}."] for f in unknown}
                )
        return super().to_internal_value(data)

    def validate_name(self, value):
        if value.strip() != self.context["image"].name:
            raise serializers.ValidationError("The name of an image cannot be changed.")
        return value

    def validate(self, data):
        if "username" in data and "password" not in data:
            raise serializers.ValidationError({"password": ["Required when username is given."]})
        data.pop("name", None)
        return data

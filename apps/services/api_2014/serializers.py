"""Shapes of applications on the wire, and validation of what clients send. No Docker, no tasks here."""

import re

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.containers.links import container_link_variables, env_prefix
from apps.core.fields import (
    PortNumberField,
    Rfc2822DateTimeField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictListField,
    StrictSerializer,
)
from apps.core.serializers import ReadSerializer
from apps.core.uris import application_uri, container_uri

from .. import validation
from ..choices import ContainerSize, Protocol, RecoveryPolicy, Role, ServiceState
from ..models import Service

HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
APPLICATION_URI_PATTERN = re.compile(r"^/api/v1/application/(?P<uuid>[0-9a-fA-F-]{36})/?$")


# ---------------------------------------------------------------- output

# The 2014 face has no `Not running`: a service never started is shown Stopped (Service.legacy_state).
APPLICATION_STATES = [(value, label) for value, label in ServiceState.choices if value != ServiceState.NOT_RUNNING]


def _choice(name: str) -> serializers.ChoiceField:
    """A service field with its model field's choices (an enum in the schema)."""
    return serializers.ChoiceField(choices=Service._meta.get_field(name).choices)


class ApplicationPortSerializer(serializers.Serializer):
    """Schema only: an item of `container_ports` (an application's ports are published per container)."""

    application = serializers.CharField()
    inner_port = serializers.IntegerField()
    outer_port = serializers.IntegerField(allow_null=True)
    protocol = serializers.ChoiceField(choices=Protocol.choices)


class ApplicationEnvVarSerializer(serializers.Serializer):
    """Schema only: an item of `container_envvars`."""

    application = serializers.CharField()
    key = serializers.CharField()
    value = serializers.CharField()


class ApplicationSerializer(ReadSerializer):
    """The list shape of the spec's examples (plus `image_name`, which the mid-2014 CLI prints)."""

    autodestroy = _choice("autodestroy")
    autoreplace = _choice("autoreplace")
    autorestart = _choice("autorestart")
    container_ports = serializers.SerializerMethodField()
    container_size = _choice("container_size")
    current_num_containers = serializers.IntegerField()
    deployed_datetime = Rfc2822DateTimeField()
    destroyed_datetime = Rfc2822DateTimeField()
    entrypoint = serializers.CharField()
    image_name = serializers.CharField()
    image_tag = serializers.CharField(source="image_tag_uri")
    name = serializers.CharField()
    public_dns = serializers.CharField()
    resource_uri = serializers.SerializerMethodField()
    run_command = serializers.CharField()
    running_num_containers = serializers.IntegerField()
    started_datetime = Rfc2822DateTimeField()
    state = serializers.ChoiceField(choices=APPLICATION_STATES, source="legacy_state")
    stopped_datetime = Rfc2822DateTimeField()
    stopped_num_containers = serializers.IntegerField()
    target_num_containers = serializers.IntegerField()
    unique_name = serializers.CharField()
    uuid = serializers.UUIDField()
    web_public_dns = serializers.CharField(allow_null=True)

    def get_resource_uri(self, app) -> str:
        return application_uri(app.uuid)

    @extend_schema_field(ApplicationPortSerializer(many=True))
    def get_container_ports(self, app) -> list[dict]:
        return [
            {
                "application": application_uri(app.uuid),
                "inner_port": p.inner_port,
                "outer_port": None,
                "protocol": p.protocol,
            }
            for p in app.port_list
        ]


class ApplicationDetailSerializer(ApplicationSerializer):
    container_envvars = serializers.SerializerMethodField()
    containers = serializers.SerializerMethodField()
    link_variables = serializers.SerializerMethodField()
    linked_from_application = serializers.SerializerMethodField()
    linked_to_application = serializers.SerializerMethodField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))

    @extend_schema_field(ApplicationEnvVarSerializer(many=True))
    def get_container_envvars(self, app) -> list[dict]:
        uri = application_uri(app.uuid)
        return [{"application": uri, "key": e.key, "value": e.value} for e in app.envvars.all()]

    def _live_containers(self, app):
        return [c for c in app.containers.all() if c.state != "Terminated"]

    def get_containers(self, app) -> list[str]:
        return [container_uri(c.uuid) for c in self._live_containers(app)]

    def get_link_variables(self, app) -> dict[str, str]:
        variables: dict[str, str] = {}
        for container in self._live_containers(app):
            variables.update(container_link_variables(container, container.port_list))
        variables[f"{env_prefix(app.unique_name)}_TUTUM_API_URL"] = app.api_url
        return dict(sorted(variables.items()))

    def get_linked_from_application(self, app) -> list[str]:
        return [application_uri(a.uuid) for a in app.linked_from.all()]

    def get_linked_to_application(self, app) -> list[str]:
        return [application_uri(a.uuid) for a in app.linked_to.all()]


# ---------------------------------------------------------------- input


# Named for the schema apart from the 2015 face's PortIn and EnvVarIn, which differ.
@extend_schema_serializer(component_name="ApplicationPortIn")
class PortInSerializer(StrictSerializer):
    protocol = StrictChoiceField(choices=Protocol.choices, default=Protocol.TCP)
    inner_port = PortNumberField()


@extend_schema_serializer(component_name="ApplicationEnvVarIn")
class EnvVarInSerializer(StrictSerializer):
    key = StrictCharField(max_length=255)
    value = StrictCharField(allow_blank=True, max_length=65536)

    def validate_key(self, key):
        return validation.env_key(key)


def _validate_hostname(value):
    if value in (None, ""):
        return None
    if not HOSTNAME_PATTERN.match(value):
        raise serializers.ValidationError(f"{value!r} is not a valid domain name.")
    return value.lower()


def _validate_target(value):
    limit = settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION
    if value > limit:
        raise serializers.ValidationError(f"Ensure this value is less than or equal to {limit}.")
    return value


class ApplicationCreateSerializer(StrictSerializer):
    image = StrictCharField(max_length=255)
    name = StrictCharField(required=False, max_length=64)
    container_size = StrictChoiceField(choices=ContainerSize.choices, default=ContainerSize.XS)
    target_num_containers = StrictIntegerField(min_value=0, default=1, validators=[_validate_target])
    run_command = StrictCharField(required=False, allow_blank=True, default="", max_length=4096)
    entrypoint = StrictCharField(required=False, allow_blank=True, default="", max_length=4096)
    container_ports = PortInSerializer(many=True, required=False)
    container_envvars = EnvVarInSerializer(many=True, required=False, default=list)
    linked_to_application = StrictListField(child=StrictCharField(), required=False, default=list)
    autorestart = StrictChoiceField(choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autoreplace = StrictChoiceField(choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autodestroy = StrictChoiceField(choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    roles = StrictListField(child=StrictChoiceField(choices=Role.choices), required=False, default=list)
    web_public_dns = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None)

    def validate_image(self, value):
        return validation.image_reference(value)

    def validate_name(self, value):
        return validation.service_name(value)

    def validate_web_public_dns(self, value):
        return _validate_hostname(value)

    def validate_container_ports(self, ports):
        return validation.unique_ports(ports)

    def validate_container_envvars(self, envvars):
        return validation.unique_env_keys(envvars)

    def validate_roles(self, roles):
        return sorted(set(roles))

    def validate_linked_to_application(self, uris):
        owner = self.context["request"].user
        uuids = []
        for uri in uris:
            match = APPLICATION_URI_PATTERN.match(uri.strip())
            if match is None:
                raise serializers.ValidationError(f"{uri!r} is not an application resource URI.")
            uuids.append(match["uuid"].lower())
        found = {
            str(a.uuid): a
            for a in Service.objects.owned_by(owner)
            .filter(uuid__in=uuids)
            .exclude(state__in=["Terminating", "Terminated"])
        }
        missing = [u for u in uris if APPLICATION_URI_PATTERN.match(u.strip())["uuid"].lower() not in found]
        if missing:
            raise serializers.ValidationError(f"No such application: {', '.join(missing)}.")
        return [found[u] for u in dict.fromkeys(uuids)]

    def validate(self, data):
        ports = data.get("container_ports")
        if data.get("web_public_dns") and ports is not None and not any(p["inner_port"] == 80 for p in ports):
            raise serializers.ValidationError(
                {"web_public_dns": ["Only available if the application listens on port 80."]}
            )
        if "name" not in data:
            data["name"] = validation.default_name(data["image"], "app")
        return data


class ApplicationUpdateSerializer(StrictSerializer):
    """PATCH: scale, custom domain, crash-recovery flags. Anything else is refused, not silently ignored."""

    target_num_containers = StrictIntegerField(min_value=0, required=False, validators=[_validate_target])
    web_public_dns = StrictCharField(required=False, allow_null=True, allow_blank=True)
    autorestart = StrictChoiceField(choices=RecoveryPolicy.choices, required=False)
    autoreplace = StrictChoiceField(choices=RecoveryPolicy.choices, required=False)
    autodestroy = StrictChoiceField(choices=RecoveryPolicy.choices, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        field: ["This field cannot be updated; allowed: " + ", ".join(self.fields) + "."]
                        for field in unknown
                    }
                )
        return super().to_internal_value(data)

    def validate_web_public_dns(self, value):
        value = _validate_hostname(value)
        service = self.context["service"]
        if value and not any(p.inner_port == 80 for p in service.ports.all()):
            raise serializers.ValidationError("Only available if the application listens on port 80.")
        return value


class RedeploySerializer(StrictSerializer):
    tag = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=128)

    def validate_tag(self, value):
        if value and not re.match(r"^[\w][\w.-]{0,127}$", value):
            raise serializers.ValidationError(f"{value!r} is not a valid image tag.")
        return value or None

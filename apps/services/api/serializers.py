"""The 2015 face of a service: its shape on /api/v1/service/ and the validation of what clients send.

The final CLI sends ports as strings of digits, links by service name, and only the attributes it sets;
every key is checked for its JSON type, unknown keys are refused, and nothing here talks to Docker.
"""

import re

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.containers.links import container_link_variables, env_prefix
from apps.core.fields import (
    PortNumberField,
    Rfc2822DateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictListField,
    StrictSerializer,
)
from apps.core.serializers import ReadSerializer
from apps.core.uris import container_uri, service_uri, stack_uri

from .. import validation
from ..choices import (
    AutodestroyPolicy,
    DeploymentStrategy,
    NetworkMode,
    PidMode,
    Protocol,
    RecoveryPolicy,
    Role,
    ServiceState,
)
from ..models import Service
from ..safety import capability_errors

SERVICE_URI_PATTERN = re.compile(r"^/api/v1/(?:service|application)/(?P<uuid>[0-9a-fA-F-]{36})/?$")
CAPABILITY_PATTERN = re.compile(r"^[A-Za-z_]{1,64}$")
MAC_PATTERN = re.compile(r"^(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
CPUSET_PATTERN = re.compile(r"^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$")
DEVICE_PATTERN = re.compile(r"^/dev/[\w./-]+(?::/dev/[\w./-]+)?(?::[rwm]{1,3})?$")
EXTRA_HOST_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9A-Fa-f.:]+$")
IP_PATTERN = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$|^[0-9A-Fa-f:]+$")
TUTUM_LABEL_PREFIX = "tutum."


# ---------------------------------------------------------------- output


class ServiceSerializer(ReadSerializer):
    """A service as the 2015 list shows it: what `tutum service ps` and name lookups read."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.SerializerMethodField()
    name = serializers.CharField()
    nickname = serializers.CharField()
    image_name = serializers.CharField()
    image_tag = serializers.CharField(source="image_tag_uri")
    public_dns = serializers.CharField()
    state = serializers.ChoiceField(choices=ServiceState.choices)
    synchronized = serializers.BooleanField()
    stack = serializers.SerializerMethodField()
    deployed_datetime = Rfc2822DateTimeField()
    started_datetime = Rfc2822DateTimeField()
    stopped_datetime = Rfc2822DateTimeField()
    destroyed_datetime = Rfc2822DateTimeField()
    target_num_containers = serializers.IntegerField()
    current_num_containers = serializers.IntegerField()
    running_num_containers = serializers.IntegerField()
    stopped_num_containers = serializers.IntegerField()
    container_ports = serializers.SerializerMethodField()
    deployment_strategy = serializers.ChoiceField(choices=DeploymentStrategy.choices)
    sequential_deployment = serializers.BooleanField()
    autorestart = serializers.ChoiceField(choices=RecoveryPolicy.choices)
    autodestroy = serializers.ChoiceField(choices=AutodestroyPolicy.choices)
    autoredeploy = serializers.BooleanField()
    tags = serializers.SerializerMethodField()
    roles = serializers.ListField(child=serializers.CharField())
    entrypoint = serializers.CharField()
    run_command = serializers.CharField()
    cpu_shares = serializers.IntegerField(allow_null=True)
    memory = serializers.IntegerField(allow_null=True)
    memory_swap = serializers.IntegerField(allow_null=True)
    privileged = serializers.BooleanField()
    net = serializers.ChoiceField(choices=NetworkMode.choices)
    pid = serializers.ChoiceField(choices=PidMode.choices)

    def get_resource_uri(self, service) -> str:
        return service_uri(service.uuid)

    def get_stack(self, service) -> str | None:
        return stack_uri(service.stack.uuid) if service.stack_id else None

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}})
    def get_tags(self, service) -> list:
        return [{"name": tag} for tag in service.tags]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_container_ports(self, service) -> list:
        return [
            {
                "protocol": p.protocol,
                "inner_port": p.inner_port,
                "outer_port": p.outer_port,
                "port_name": p.port_name,
                "published": p.published,
                "endpoint_uri": None,
            }
            for p in service.port_list
        ]


class ServiceDetailSerializer(ServiceSerializer):
    """Every field of a 2015 service, with its containers, links, bindings and computed variables."""

    containers = serializers.SerializerMethodField()
    container_envvars = serializers.SerializerMethodField()
    calculated_envvars = serializers.SerializerMethodField()
    link_variables = serializers.SerializerMethodField()
    linked_to_service = serializers.SerializerMethodField()
    linked_from_service = serializers.SerializerMethodField()
    bindings = serializers.SerializerMethodField()
    labels = serializers.DictField(child=serializers.CharField())
    working_dir = serializers.CharField()
    user = serializers.CharField()
    hostname = serializers.CharField()
    domainname = serializers.CharField()
    mac_address = serializers.CharField()
    cgroup_parent = serializers.CharField()
    cpuset = serializers.CharField()
    tty = serializers.BooleanField()
    stdin_open = serializers.BooleanField()
    read_only = serializers.BooleanField()
    dns = serializers.ListField(child=serializers.CharField())
    dns_search = serializers.ListField(child=serializers.CharField())
    cap_add = serializers.ListField(child=serializers.CharField())
    cap_drop = serializers.ListField(child=serializers.CharField())
    devices = serializers.ListField(child=serializers.CharField())
    extra_hosts = serializers.ListField(child=serializers.CharField())
    security_opt = serializers.ListField(child=serializers.CharField())

    def _live_containers(self, service):
        return [c for c in service.containers.all() if c.state != "Terminated"]

    def get_containers(self, service) -> list[str]:
        return [container_uri(c.uuid) for c in self._live_containers(service)]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_container_envvars(self, service) -> list:
        return [{"key": e.key, "value": e.value, "origin": "user"} for e in service.envvars.all()]

    def get_link_variables(self, service) -> dict[str, str]:
        variables: dict[str, str] = {}
        for container in self._live_containers(service):
            variables.update(container_link_variables(container, container.port_list))
        variables[f"{env_prefix(service.unique_name)}_TUTUM_API_URL"] = service.service_api_url
        return dict(sorted(variables.items()))

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_calculated_envvars(self, service) -> list:
        """What each new container is given (`tutum service env list`), later entries winning: the image's
        ENV, the service's own variables, then those this server adds. Link variables are on each container."""
        api = settings.TUTUM_API_URL
        tutum = {
            "TUTUM_SERVICE_API_URI": service_uri(service.uuid),
            "TUTUM_SERVICE_API_URL": f"{api}{service_uri(service.uuid)}",
            "TUTUM_SERVICE_HOSTNAME": service.unique_name,
            "TUTUM_SERVICE_FQDN": service.public_dns,
            "TUTUM_REST_HOST": api,
            "TUTUM_STREAM_HOST": settings.TUTUM_STREAM_HOST,
        }
        return (
            [{"origin": "image", "key": key, "value": value} for key, value in service.image_envvars.items()]
            + [{"origin": "user", "key": e.key, "value": e.value} for e in service.envvars.all()]
            + [{"origin": "tutum", "key": key, "value": value} for key, value in tutum.items()]
        )

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_linked_to_service(self, service) -> list:
        return [
            {
                "name": link.name or link.to_service.unique_name,
                "from_service": service_uri(service.uuid),
                "to_service": service_uri(link.to_service.uuid),
            }
            for link in service.links_out.all()
        ]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_linked_from_service(self, service) -> list:
        return [
            {
                "name": link.name or service.unique_name,
                "from_service": service_uri(link.from_service.uuid),
                "to_service": service_uri(service.uuid),
            }
            for link in service.links_in.all()
        ]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_bindings(self, service) -> list:
        return [
            {
                "host_path": b.host_path or None,
                "container_path": b.container_path or None,
                "rewritable": b.rewritable,
                "volumes_from": service_uri(b.volumes_from.uuid) if b.volumes_from_id else None,
            }
            for b in service.bindings.all()
        ]


# ---------------------------------------------------------------- input


class PortIn(StrictSerializer):
    protocol = StrictChoiceField(choices=Protocol.choices, default=Protocol.TCP)
    inner_port = PortNumberField()
    outer_port = PortNumberField(required=False, allow_null=True, default=None)
    published = StrictBooleanField(default=True)
    port_name = StrictCharField(required=False, allow_blank=True, default="", max_length=64)


class EnvVarIn(StrictSerializer):
    key = StrictCharField(max_length=255)
    value = StrictCharField(allow_blank=True, max_length=65536)

    def validate_key(self, key):
        return validation.env_key(key)


class LinkIn(StrictSerializer):
    to_service = StrictCharField(max_length=255)
    name = StrictCharField(required=False, allow_blank=True, default="", max_length=64)


class BindingIn(StrictSerializer):
    host_path = StrictCharField(required=False, allow_null=True, allow_blank=True, default="", max_length=1024)
    container_path = StrictCharField(required=False, allow_null=True, allow_blank=True, default="", max_length=1024)
    rewritable = StrictBooleanField(default=True)
    volumes_from = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None, max_length=255)


class TagIn(StrictSerializer):
    name = StrictCharField(max_length=64)


def _strings(pattern=None, what="", **kwargs):
    validators = []
    if pattern is not None:

        def check(values):
            bad = [v for v in values if not pattern.match(v)]
            if bad:
                raise serializers.ValidationError(f"Not {what}: {', '.join(map(repr, bad))}.")

        validators.append(check)
    return StrictListField(child=StrictCharField(max_length=255), required=False, validators=validators, **kwargs)


class ServiceWriteSerializer(StrictSerializer):
    """The keys of a 2015 create (`image` required) or PATCH (any subset). Any other key is a 400."""

    image = StrictCharField(max_length=255)
    name = StrictCharField(required=False, max_length=64)
    nickname = StrictCharField(required=False, allow_blank=True, max_length=255)
    target_num_containers = StrictIntegerField(min_value=0, required=False)
    run_command = StrictCharField(required=False, allow_blank=True, max_length=4096)
    entrypoint = StrictCharField(required=False, allow_blank=True, max_length=4096)
    container_ports = PortIn(many=True, required=False)
    container_envvars = EnvVarIn(many=True, required=False)
    linked_to_service = LinkIn(many=True, required=False)
    bindings = BindingIn(many=True, required=False)
    tags = StrictListField(child=TagIn(), required=False)
    roles = StrictListField(child=StrictChoiceField(choices=Role.choices), required=False)
    autorestart = StrictChoiceField(choices=RecoveryPolicy.choices, required=False)
    autoreplace = StrictChoiceField(choices=RecoveryPolicy.choices, required=False)
    autodestroy = StrictChoiceField(choices=AutodestroyPolicy.choices, required=False)
    autoredeploy = StrictBooleanField(required=False)
    deployment_strategy = StrictChoiceField(choices=DeploymentStrategy.choices, required=False)
    sequential_deployment = StrictBooleanField(required=False)
    privileged = StrictBooleanField(required=False)
    read_only = StrictBooleanField(required=False)
    tty = StrictBooleanField(required=False)
    stdin_open = StrictBooleanField(required=False)
    net = StrictChoiceField(choices=NetworkMode.choices, required=False)
    pid = StrictChoiceField(choices=PidMode.choices, required=False)
    cpu_shares = StrictIntegerField(min_value=2, max_value=262144, required=False, allow_null=True)
    cpuset = StrictCharField(required=False, allow_blank=True, max_length=64)
    memory = StrictIntegerField(min_value=6, max_value=1048576, required=False, allow_null=True)
    memory_swap = StrictIntegerField(min_value=-1, max_value=2097152, required=False, allow_null=True)
    labels = StrictDictField(child=StrictCharField(allow_blank=True, max_length=4096), required=False)
    working_dir = StrictCharField(required=False, allow_blank=True, max_length=255)
    user = StrictCharField(required=False, allow_blank=True, max_length=255)
    hostname = StrictCharField(required=False, allow_blank=True, max_length=63)
    domainname = StrictCharField(required=False, allow_blank=True, max_length=255)
    mac_address = StrictCharField(required=False, allow_blank=True, max_length=17)
    cgroup_parent = StrictCharField(required=False, allow_blank=True, max_length=255)
    dns = _strings(IP_PATTERN, "IP addresses")
    dns_search = _strings()
    cap_add = _strings(CAPABILITY_PATTERN, "capability names")
    cap_drop = _strings(CAPABILITY_PATTERN, "capability names")
    devices = _strings(DEVICE_PATTERN, "devices such as /dev/fuse or /dev/sda:/dev/xvda:rwm")
    extra_hosts = _strings(EXTRA_HOST_PATTERN, "host:address entries")
    security_opt = _strings()

    def __init__(self, *args, partial_update=False, **kwargs):
        super().__init__(*args, **kwargs)
        if partial_update:
            self.fields["image"].required = False

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({field: ["This field is not a service field."] for field in unknown})
        return super().to_internal_value(data)

    @property
    def owner(self):
        return self.context["request"].user

    def validate_image(self, value):
        return validation.image_reference(value)

    def validate_name(self, value):
        return validation.service_name(value)

    def validate_target_num_containers(self, value):
        limit = settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION
        if value > limit:
            raise serializers.ValidationError(f"Ensure this value is less than or equal to {limit}.")
        return value

    def validate_mac_address(self, value):
        if value and not MAC_PATTERN.match(value):
            raise serializers.ValidationError(f"{value!r} is not a MAC address such as 02:42:ac:11:00:02.")
        return value

    def validate_cpuset(self, value):
        if value and not CPUSET_PATTERN.match(value):
            raise serializers.ValidationError(f"{value!r} is not a CPU list such as 0-1 or 0,2.")
        return value

    def validate_labels(self, labels):
        reserved = sorted(key for key in labels if key.startswith(TUTUM_LABEL_PREFIX))
        if reserved:
            raise serializers.ValidationError(f"Labels starting with {TUTUM_LABEL_PREFIX!r} are the server's own.")
        return labels

    def validate_container_ports(self, ports):
        validation.unique_ports(ports)
        outer = set()
        for port in ports:
            key = (port["inner_port"], port["protocol"])
            if port["outer_port"] is not None:
                if not port["published"]:
                    raise serializers.ValidationError(f"Port {key[0]}/{key[1]}: an outer_port needs published: true.")
                if (port["outer_port"], port["protocol"]) in outer:
                    raise serializers.ValidationError(f"Outer port {port['outer_port']} is given more than once.")
                outer.add((port["outer_port"], port["protocol"]))
        return ports

    def validate_container_envvars(self, envvars):
        return validation.unique_env_keys(envvars)

    def validate_roles(self, roles):
        return sorted(set(roles))

    def validate_tags(self, tags):
        return list(dict.fromkeys(tag["name"] for tag in tags))

    def _find_service(self, reference: str) -> Service | None:
        """A service of the owner by resource URI, uuid, `name`, or `name.stack` (as the CLI sends them)."""
        owner_services = Service.objects.owned_by(self.owner).exclude(state__in=["Terminating", "Terminated"])
        match = SERVICE_URI_PATTERN.match(reference.strip())
        if match:
            return owner_services.filter(uuid=match["uuid"].lower()).first()
        name, _, stack = reference.partition(".")
        candidates = owner_services.filter(name=name)
        candidates = candidates.filter(stack__name=stack) if stack else candidates
        return candidates.order_by("-id").first()

    def validate_linked_to_service(self, links):
        resolved, missing = [], []
        for link in links:
            target = self._find_service(link["to_service"])
            if target is None:
                missing.append(link["to_service"])
            else:
                resolved.append((target, link["name"] or target.name))
        if missing:
            raise serializers.ValidationError(f"No such service: {', '.join(missing)}.")
        return resolved

    def validate_bindings(self, bindings):
        result = []
        for binding in bindings:
            host, path, source = binding["host_path"] or "", binding["container_path"] or "", binding["volumes_from"]
            if source:
                target = self._find_service(source)
                if target is None:
                    raise serializers.ValidationError(f"volumes_from: no such service: {source}.")
                result.append({"host_path": "", "container_path": "", "rewritable": True, "volumes_from": target})
                continue
            if not path.startswith("/"):
                raise serializers.ValidationError(f"container_path must be an absolute path, got {path!r}.")
            if host and not host.startswith("/") and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", host):
                raise serializers.ValidationError(f"{host!r} is neither an absolute host path nor a volume name.")
            result.append({"host_path": host, "container_path": path, "rewritable": binding["rewritable"]})
        return result

    def validate(self, data):
        if "name" not in data and "image" in data and not self.partial_fields:
            data["name"] = validation.default_name(data["image"], "service")
        if data.get("memory_swap") not in (None, -1) and data.get("memory") and data["memory_swap"] < data["memory"]:
            raise serializers.ValidationError({"memory_swap": ["Must be at least memory (both in MB), or -1."]})
        errors = capability_errors(self.owner, data)
        if errors:
            raise serializers.ValidationError({field: [message] for field, message in errors.items()})
        return data

    @property
    def partial_fields(self) -> bool:
        return not self.fields["image"].required

    def service_data(self) -> dict:
        """The validated data in the use cases' terms (apps/services/services.py)."""
        data = dict(self.validated_data)
        if "linked_to_service" in data:
            data["linked_to"] = data.pop("linked_to_service")
        return data

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField
from apps.core.serializers import ReadSerializer
from apps.core.uris import application_uri, container_uri, node_uri, service_uri
from apps.nodes.models import NodeState
from apps.services.choices import Protocol, Role
from apps.services.models import Service

from .endpoints import bindings, linked_to_container, port_facts
from .links import container_link_variables
from .models import Container


def _service_choice(name: str) -> serializers.ChoiceField:
    """A setting of the container's service, with that model field's choices (an enum in the schema)."""
    return serializers.ChoiceField(choices=Service._meta.get_field(name).choices, source=f"service.{name}")


class ContainerPortSerializer(serializers.Serializer):
    """Schema only: an item of `container_ports`; `outer_port` is null until the port is published."""

    container = serializers.CharField()
    inner_port = serializers.IntegerField()
    outer_port = serializers.IntegerField(allow_null=True)
    protocol = serializers.ChoiceField(choices=Protocol.choices)
    port_name = serializers.CharField()
    uri_protocol = serializers.CharField()
    endpoint_uri = serializers.CharField(allow_null=True)
    published = serializers.BooleanField()


class ContainerEnvVarSerializer(serializers.Serializer):
    """Schema only: an item of `container_envvars`."""

    container = serializers.CharField()
    key = serializers.CharField()
    value = serializers.CharField()


class ContainerSerializer(ReadSerializer):
    """The list shape of the spec's examples (plus `image_name`). Settings of the application are shown
    on each container, as the spec does."""

    application = serializers.SerializerMethodField()
    autodestroy = _service_choice("autodestroy")
    autoreplace = _service_choice("autoreplace")
    autorestart = _service_choice("autorestart")
    container_ports = serializers.SerializerMethodField()
    container_size = _service_choice("container_size")
    deployed_datetime = Rfc2822DateTimeField()
    destroyed_datetime = Rfc2822DateTimeField()
    entrypoint = serializers.CharField(source="service.entrypoint")
    exit_code = serializers.IntegerField(allow_null=True)
    exit_code_msg = serializers.SerializerMethodField()
    image_name = serializers.CharField(source="service.image_name")
    image_tag = serializers.CharField(source="service.image_tag_uri")
    name = serializers.CharField(source="service.name")
    public_dns = serializers.CharField()
    resource_uri = serializers.SerializerMethodField()
    run_command = serializers.CharField(source="service.run_command")
    started_datetime = Rfc2822DateTimeField()
    state = serializers.ChoiceField(choices=Container._meta.get_field("state").choices)
    stopped_datetime = Rfc2822DateTimeField()
    unique_name = serializers.CharField()
    uuid = serializers.UUIDField()
    # 2015 keys (the final clients' container; both generations ignore the keys they do not know).
    service = serializers.SerializerMethodField()
    node = serializers.SerializerMethodField()
    private_ip = serializers.SerializerMethodField()
    synchronized = serializers.BooleanField(source="service.synchronized")
    last_metric = serializers.SerializerMethodField()
    labels = serializers.DictField(child=serializers.CharField(), source="service.labels")
    working_dir = serializers.CharField(source="service.working_dir")
    user = serializers.CharField(source="service.user")
    hostname = serializers.CharField(source="service.hostname")
    domainname = serializers.CharField(source="service.domainname")
    mac_address = serializers.CharField(source="service.mac_address")
    cgroup_parent = serializers.CharField(source="service.cgroup_parent")
    tty = serializers.BooleanField(source="service.tty")
    stdin_open = serializers.BooleanField(source="service.stdin_open")
    dns = serializers.ListField(child=serializers.CharField(), source="service.dns")
    dns_search = serializers.ListField(child=serializers.CharField(), source="service.dns_search")
    cap_add = serializers.ListField(child=serializers.CharField(), source="service.cap_add")
    cap_drop = serializers.ListField(child=serializers.CharField(), source="service.cap_drop")
    devices = serializers.ListField(child=serializers.CharField(), source="service.devices")
    extra_hosts = serializers.ListField(child=serializers.CharField(), source="service.extra_hosts")
    security_opt = serializers.ListField(child=serializers.CharField(), source="service.security_opt")
    cpu_shares = serializers.IntegerField(allow_null=True, source="service.cpu_shares")
    cpuset = serializers.CharField(source="service.cpuset")
    memory = serializers.IntegerField(allow_null=True, source="service.memory", help_text="MB")
    memory_swap = serializers.IntegerField(allow_null=True, source="service.memory_swap", help_text="MB")
    privileged = serializers.BooleanField(source="service.privileged")
    read_only = serializers.BooleanField(source="service.read_only")
    net = _service_choice("net")
    pid = _service_choice("pid")

    def get_service(self, container) -> str:
        return service_uri(container.service.uuid)

    def get_node(self, container) -> str | None:
        """Null only until the controller has placed it (moments after it is created)."""
        return node_uri(container.node.uuid) if container.node_id else None

    def get_private_ip(self, container) -> str | None:
        return container.private_ip or None

    def get_last_metric(self, container) -> dict | None:
        return None  # no metrics are collected

    def get_application(self, container) -> str:
        return application_uri(container.service.uuid)

    def get_resource_uri(self, container) -> str:
        return container_uri(container.uuid)

    def get_exit_code_msg(self, container) -> str | None:
        node = container.node
        if node is not None and node.state == NodeState.UNREACHABLE and container.state != "Terminated":
            return f"Node {node.name} is unreachable; {container.state} is the last known state."
        return container.exit_code_msg

    @extend_schema_field(ContainerPortSerializer(many=True))
    def get_container_ports(self, container) -> list[dict]:
        uri = container_uri(container.uuid)
        return [
            {
                "container": uri,
                "inner_port": p.inner_port,
                "outer_port": p.outer_port,
                "protocol": p.protocol,
                **port_facts(p.inner_port, p.outer_port, p.protocol, container.public_dns),
            }
            for p in container.port_list
        ]


class ContainerDetailSerializer(ContainerSerializer):
    """The detail adds what lists leave out: variables, links (2014 and 2015) and volumes."""

    container_envvars = serializers.SerializerMethodField()
    bindings = serializers.SerializerMethodField()
    linked_to_container = serializers.SerializerMethodField()
    link_variables = serializers.SerializerMethodField()
    linked_from_application = serializers.SerializerMethodField()
    linked_to_application = serializers.SerializerMethodField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), source="service.roles")

    @extend_schema_field(ContainerEnvVarSerializer(many=True))
    def get_container_envvars(self, container) -> list[dict]:
        uri = container_uri(container.uuid)
        return [{"container": uri, "key": e.key, "value": e.value} for e in container.envvars.all()]

    def get_link_variables(self, container) -> dict[str, str]:
        return container_link_variables(container, container.port_list)

    def get_linked_from_application(self, container) -> list[str]:
        return [application_uri(a.uuid) for a in container.service.linked_from.all()]

    def get_linked_to_application(self, container) -> list[str]:
        return [application_uri(a.uuid) for a in container.service.linked_to.all()]

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_bindings(self, container) -> list[dict]:
        return bindings(container)

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_linked_to_container(self, container) -> list[dict]:
        return linked_to_container(container)

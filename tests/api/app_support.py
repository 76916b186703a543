"""Factories and the documented shapes for the application and container API tests.

The key sets below are copied from the example responses of Tutum's HTTP API documentation of April 2014
("List all applications", "Get application details", "Create and launch a new application", "List all
containers", "Get container details"); `image_name` is the one extra key (the mid-2014 CLI prints it).
"""

import inspect
import re

from apps.containers.choices import ContainerState
from apps.containers.models import Container, ContainerEnvVar, ContainerPort
from apps.services.choices import ServiceState
from apps.services.models import Service, ServiceEnvVar, ServicePort

EXTRA_KEYS = {"image_name"}

APPLICATION_LIST_KEYS = {
    "autodestroy",
    "autoreplace",
    "autorestart",
    "container_ports",
    "container_size",
    "current_num_containers",
    "deployed_datetime",
    "destroyed_datetime",
    "entrypoint",
    "image_tag",
    "name",
    "public_dns",
    "resource_uri",
    "run_command",
    "running_num_containers",
    "started_datetime",
    "state",
    "stopped_datetime",
    "stopped_num_containers",
    "target_num_containers",
    "unique_name",
    "uuid",
    "web_public_dns",
}
# "Get application details" and "Create and launch a new application" have the same keys.
APPLICATION_DETAIL_KEYS = APPLICATION_LIST_KEYS | {
    "container_envvars",
    "containers",
    "link_variables",
    "linked_from_application",
    "linked_to_application",
    "roles",
}
APPLICATION_PORT_KEYS = {"application", "inner_port", "outer_port", "protocol"}
APPLICATION_ENVVAR_KEYS = {"application", "key", "value"}

CONTAINER_LIST_KEYS = {
    "application",
    "autodestroy",
    "autoreplace",
    "autorestart",
    "container_ports",
    "container_size",
    "deployed_datetime",
    "destroyed_datetime",
    "entrypoint",
    "exit_code",
    "exit_code_msg",
    "image_tag",
    "name",
    "public_dns",
    "resource_uri",
    "run_command",
    "started_datetime",
    "state",
    "stopped_datetime",
    "unique_name",
    "uuid",
}
CONTAINER_DETAIL_KEYS = CONTAINER_LIST_KEYS | {
    "container_envvars",
    "link_variables",
    "linked_from_application",
    "linked_to_application",
    "roles",
}
CONTAINER_PORT_KEYS = {"container", "inner_port", "outer_port", "protocol"}
CONTAINER_ENVVAR_KEYS = {"container", "key", "value"}

# The container resource is shared by both generations: it carries the 2014 keys above and, beside them,
# the 2015 ones (Tutum's API documentation of December 2015, "Container"). The detail adds links and volumes.
CONTAINER_2015_KEYS = {
    "service",
    "node",
    "private_ip",
    "synchronized",
    "last_metric",
    "labels",
    "working_dir",
    "user",
    "hostname",
    "domainname",
    "mac_address",
    "cgroup_parent",
    "tty",
    "stdin_open",
    "dns",
    "dns_search",
    "cap_add",
    "cap_drop",
    "devices",
    "extra_hosts",
    "security_opt",
    "cpu_shares",
    "cpuset",
    "memory",
    "memory_swap",
    "privileged",
    "read_only",
    "net",
    "pid",
}
CONTAINER_2015_DETAIL_KEYS = CONTAINER_2015_KEYS | {"bindings", "linked_to_container"}
CONTAINER_2015_PORT_KEYS = {"port_name", "uri_protocol", "endpoint_uri", "published"}

DATETIME_FIELDS = ("deployed_datetime", "destroyed_datetime", "started_datetime", "stopped_datetime")
# `Sun, 6 Apr 2014 17:59:42 +0000`: English names, day not zero-padded, UTC.
RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [1-9]\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} \+0000$"
)

AS = ServiceState
CS = ContainerState


def app_uri(service) -> str:
    return f"/api/v1/application/{service.uuid}/"


def container_uri(container) -> str:
    return f"/api/v1/container/{container.uuid}/"


def make_application(
    owner,
    name="web",
    *,
    state=AS.RUNNING,
    containers=1,
    container_state=None,
    ports=(80,),
    envvars=None,
    image="tutum/hello-world",
    tag="latest",
    **fields,
) -> Service:
    """One application with `containers` container rows (numbered from 1), ports and variables, no Docker.

    The container state follows the application's when not given (Running for Running, and so on).
    """
    service = Service.objects.create(
        owner=owner,
        name=name,
        unique_name=fields.pop("unique_name", name),
        image_repository=image,
        image_tag_name=tag,
        state=state,
        target_num_containers=fields.pop("target_num_containers", containers),
        next_container_number=containers + 1,
        **fields,
    )
    ServicePort.objects.bulk_create(ServicePort(service=service, inner_port=p) for p in ports)
    ServiceEnvVar.objects.bulk_create(
        ServiceEnvVar(service=service, key=k, value=v) for k, v in (envvars or {"ENV": "dev"}).items()
    )
    if container_state is None:
        container_state = state if state in CS.values else CS.RUNNING
    for n in range(1, containers + 1):
        make_container(service, n, state=container_state, ports=ports)
    return service


def make_container(service, number, *, state=CS.RUNNING, ports=(80,), **fields) -> Container:
    container = Container.objects.create(
        service=service,
        number=number,
        unique_name=f"{service.unique_name}-{number}",
        state=state,
        generation=fields.pop("generation", service.generation),
        **fields,
    )
    ContainerPort.objects.bulk_create(
        ContainerPort(container=container, inner_port=p, outer_port=49000 + 100 * number + i)
        for i, p in enumerate(ports)
    )
    ContainerEnvVar.objects.create(container=container, key="ROLE", value=f"c{number}")
    return container


def set_state(obj, state, **fields) -> None:
    """Put a row in a state directly (tests only: the services move states by compare-and-set)."""
    type(obj).objects.filter(pk=obj.pk).update(state=state, **fields)
    obj.refresh_from_db()


def woken(callbacks) -> list[tuple[str, list[str]]]:
    """The (task name, arguments) each captured `wake()` callback would send, read without running it."""
    sent = []
    for callback in callbacks:
        nonlocals = inspect.getclosurevars(callback).nonlocals
        if "task_name" not in nonlocals:
            continue  # not a wake(): e.g. a stack following its services (apps/stacks/signals.py)
        sent.append((nonlocals["task_name"], [str(a) for a in nonlocals["args"]]))
    return sent


def assert_validation_error(response, field) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error", "fields"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert field in body["fields"], body
    assert isinstance(body["fields"][field], list) and body["fields"][field], body
    assert all(isinstance(m, str) and m for m in body["fields"][field])
    return body

"""Use cases on services: check the move is allowed, record the desired state, wake the controller.

Everything here runs inside one transaction holding the service's row lock, so concurrent requests
on one service apply one after the other. Nothing here talks to Docker.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.actions.choices import ActionName, TargetKind
from apps.actions.recording import finishes_service_actions, records
from apps.containers.choices import TRANSITIONAL as CONTAINER_TRANSITIONAL
from apps.containers.choices import ContainerState
from apps.containers.models import Container, ContainerPort
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set
from apps.nodes import placement

from .choices import ALLOWED_FROM, ALREADY_DONE_IN, TRANSITIONAL, DeploymentStrategy, ServiceState
from .models import Service, ServiceBinding, ServiceEnvVar, ServiceLink, ServicePort

CONVERGE_SERVICE = "orchestrator.converge_service"
CONVERGE_CONTAINER = "orchestrator.converge_container"
S = ServiceState
C = ContainerState


def _locked(service: Service) -> Service:
    return Service.objects.select_for_update().select_related("owner").get(pk=service.pk)


def _check_allowed(service: Service, operation: str) -> None:
    if service.state not in ALLOWED_FROM[operation]:
        raise UnsuitableState(f"Cannot {operation} the service while it is {service.state}.")


def _unique_name(owner, name: str) -> str:
    """`name`, or `name-2`, `name-3`... The comparison ignores case: the unique name becomes a DNS name
    and the prefix of link variables (WEB_PORT), where "Web" and "web" would be the same."""
    taken = {
        taken_name.lower()
        for taken_name in Service.objects.owned_by(owner)
        .exclude(state=S.TERMINATED)
        .filter(unique_name__istartswith=name)
        .values_list("unique_name", flat=True)
    }
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _add_containers(service: Service, count: int) -> None:
    """New container rows, each placed on its node at once (placement rules in apps.nodes.placement); with
    no node matching the service's tags they are recorded `Start failed` saying so."""
    first = service.next_container_number
    try:
        nodes, failure = placement.pick(service, count), None
    except placement.NoMatchingNode as exc:
        nodes, failure = [None] * count, str(exc)
    containers = Container.objects.bulk_create(
        Container(
            service=service,
            number=n,
            unique_name=f"{service.unique_name}-{n}",
            node=node,
            state=C.START_FAILED if failure else C.STARTING,
            exit_code_msg=failure,
            generation=service.generation,
        )
        for n, node in zip(range(first, first + count), nodes, strict=True)
    )
    ports = list(service.ports.all())
    ContainerPort.objects.bulk_create(
        ContainerPort(container=c, inner_port=p.inner_port, protocol=p.protocol) for c in containers for p in ports
    )
    service.next_container_number = first + count
    service.save(update_fields=["next_container_number", "modified"])


def _retire_containers(service: Service, count: int) -> None:
    """Scale down: the newest live containers go first."""
    newest = service.containers.live().order_by("-number")[:count]
    Container.objects.filter(pk__in=[c.pk for c in newest]).update(state=C.TERMINATING, modified=timezone.now())


def _retire_misplaced(service: Service) -> None:
    """An `EVERY_NODE` service keeps the oldest container on each matching node; the others (on a node gone,
    unschedulable or untagged, or a second copy on one node) are terminated."""
    wanted = {node.pk for node in placement.matching_nodes(service.tags)}
    kept: set[int | None] = set()
    misplaced = []
    for pk, node_id in service.containers.live().order_by("number").values_list("pk", "node_id"):
        if node_id in wanted and node_id not in kept:
            kept.add(node_id)
        else:
            misplaced.append(pk)
    if misplaced:
        Container.objects.filter(pk__in=misplaced).update(state=C.TERMINATING, modified=timezone.now())


@transaction.atomic
def replace_containers_of_node(service: Service, node) -> None:
    """A node is drained: the service's live containers on it are terminated and as many new ones are
    placed on other nodes (the node takes no new containers any more); a stopped one's replacement is
    recorded stopped. A service on every node only recounts its nodes."""
    service = _locked(service)
    on_node = list(service.containers.live().filter(node=node))
    if not on_node:
        return
    Container.objects.filter(pk__in=[c.pk for c in on_node]).update(state=C.TERMINATING, modified=timezone.now())
    quiet = [c for c in on_node if c.state in (C.STOPPED, C.STOPPING)]
    if service.state in (S.TERMINATING, S.TERMINATED):
        pass
    elif service.deployment_strategy == DeploymentStrategy.EVERY_NODE:
        match_container_rows(service)
    else:
        first = service.next_container_number
        _add_containers(service, len(on_node))
        if quiet:
            new = service.containers.filter(number__gte=first, state=C.STARTING).order_by("number")[: len(quiet)]
            Container.objects.filter(pk__in=[c.pk for c in new]).update(state=C.STOPPED)
    if service.state in ALLOWED_FROM["scale"] and service.state != S.NOT_RUNNING and len(quiet) < len(on_node):
        _set_state(service, S.SCALING)  # in progress until the replacements run
    wake(CONVERGE_SERVICE, service.uuid)


def _follow_nodes(service: Service) -> None:
    target = placement.every_node_target(service)
    if target != service.target_num_containers:
        service.target_num_containers = target
        service.save(update_fields=["target_num_containers", "modified"])


def match_container_rows(service: Service) -> None:
    """Add or retire container rows so the live ones equal the target. Caller holds the row lock.
    An `EVERY_NODE` service's target is first set to the number of its matching nodes."""
    if service.deployment_strategy == DeploymentStrategy.EVERY_NODE:
        _follow_nodes(service)
        _retire_misplaced(service)
    live = service.containers.live().count()
    if live < service.target_num_containers:
        _add_containers(service, service.target_num_containers - live)
    elif live > service.target_num_containers:
        _retire_containers(service, live - service.target_num_containers)


def _set_state(service: Service, state: str) -> None:
    service.state = state
    service.save(update_fields=["state", "modified"])


# Service fields that take effect only in new containers: changing one on a service that has containers
# leaves it unsynchronized until a redeploy replaces them.
CONTAINER_FIELDS = frozenset(
    {
        "image_repository",
        "image_tag_name",
        "memory",
        "memory_swap",
        "cpu_shares",
        "cpuset",
        "run_command",
        "entrypoint",
        "roles",
        "labels",
        "working_dir",
        "user",
        "hostname",
        "domainname",
        "mac_address",
        "cgroup_parent",
        "tty",
        "stdin_open",
        "privileged",
        "read_only",
        "net",
        "pid",
        "dns",
        "dns_search",
        "cap_add",
        "cap_drop",
        "devices",
        "extra_hosts",
        "security_opt",
        "container_ports",
        "container_envvars",
        "linked_to",
        "bindings",
    }
)
# Keys of `data` that are rows of their own, not Service columns.
RELATED = ("container_ports", "container_envvars", "linked_to", "bindings")


def _size_limits(data: dict) -> dict:
    """A 2014 `container_size` sets the Docker limits; 2015 `memory`/`cpu_shares` pick the nearest size."""
    sizes = settings.TUTUM_CONTAINER_SIZES
    if "container_size" in data:
        memory, cpu_shares = sizes[data["container_size"]]
        return {"memory": memory, "cpu_shares": cpu_shares}
    if data.get("memory"):
        return {"container_size": min(sizes, key=lambda size: abs(sizes[size][0] - data["memory"]))}
    return {}


def _set_related(service: Service, data: dict) -> None:
    """Replace the rows of each related list present in `data`."""
    if "container_ports" in data and data["container_ports"] is not None:
        service.ports.all().delete()
        ServicePort.objects.bulk_create(ServicePort(service=service, **p) for p in data["container_ports"])
    if "container_envvars" in data:
        service.envvars.all().delete()
        ServiceEnvVar.objects.bulk_create(ServiceEnvVar(service=service, **e) for e in data["container_envvars"])
    if "linked_to" in data:
        ServiceLink.objects.filter(from_service=service).delete()
        ServiceLink.objects.bulk_create(
            ServiceLink(from_service=service, to_service=target, name=alias) for target, alias in data["linked_to"]
        )
    if "bindings" in data:
        service.bindings.all().delete()
        ServiceBinding.objects.bulk_create(ServiceBinding(service=service, **b) for b in data["bindings"])


@records(ActionName.SERVICE_CREATE, TargetKind.SERVICE)
@transaction.atomic
def create_service(owner, data: dict, start: bool = True) -> Service:
    """Record a new service. With `start` (the 2014 create) its containers are recorded `Starting` at once
    and the controller creates them; without (the 2015 create) it waits in `Not running` for a start.

    `data` holds Service fields, `image` (an ImageReference), and the related lists `container_ports`
    (None: the image's ports), `container_envvars`, `linked_to` ((service, alias) pairs) and `bindings`.
    """
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()  # serialise unique_name per user
    fields = {key: value for key, value in data.items() if key not in RELATED and key != "image"}
    reference = data["image"]
    target = fields.get("target_num_containers", 1)
    if start:
        state = S.STARTING if target else S.STOPPED
    else:
        state = S.NOT_RUNNING
    service = Service.objects.create(
        owner=owner,
        unique_name=_unique_name(owner, data["name"]),
        image_repository=reference.repository,
        image_tag_name=reference.tag,
        state=state,
        **fields,
        **_size_limits(fields),
    )
    _set_related(service, data)
    if start:
        if service.deployment_strategy == DeploymentStrategy.EVERY_NODE:
            _follow_nodes(service)
        _add_containers(service, service.target_num_containers)
        wake(CONVERGE_SERVICE, service.uuid)
    return service


@records(ActionName.SERVICE_UPDATE, TargetKind.SERVICE)
@transaction.atomic
def update_service(service: Service, data: dict, scale: bool = True) -> Service:
    """PATCH. A new target scales at once with `scale` (2014); otherwise it waits for `scale_service` (2015).
    Changes that need new containers leave the service `synchronized: false` until a redeploy."""
    service = _locked(service)
    if service.state in (S.TERMINATING, S.TERMINATED):
        raise UnsuitableState(f"Cannot update the service while it is {service.state}.")
    data = dict(data)
    target = data.pop("target_num_containers", None)
    reference = data.pop("image", None)
    if reference is not None:
        data["image_repository"], data["image_tag_name"] = reference.repository, reference.tag
    changed = {key for key, value in data.items() if key in RELATED or getattr(service, key) != value}
    for field, value in {**data, **_size_limits(data)}.items():
        if field not in RELATED:
            setattr(service, field, value)
    _set_related(service, data)
    if changed & CONTAINER_FIELDS and service.containers.live().exists():
        service.synchronized = False
    if target is not None and target != service.target_num_containers:
        service.target_num_containers = target
        if scale:
            _scale(service)
    service.save()
    return service


def _scale(service: Service) -> None:
    """Make the live containers match the target (caller holds the row lock and saves)."""
    _check_allowed(service, "scale")
    if service.state == S.NOT_RUNNING:
        return  # nothing runs yet: the first start creates the target's containers
    service.state = S.SCALING
    match_container_rows(service)
    wake(CONVERGE_SERVICE, service.uuid)


@records(ActionName.SERVICE_SCALE, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def scale_service(service: Service) -> Service:
    """2015 `scale/`: apply the target a PATCH recorded."""
    service = _locked(service)
    live = service.containers.live().count()
    if live == service.target_num_containers and service.state not in TRANSITIONAL:
        _check_allowed(service, "scale")
        return service
    _scale(service)
    service.save()
    return service


@records(ActionName.SERVICE_START, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def start_service(service: Service) -> Service:
    service = _locked(service)
    if service.state in ALREADY_DONE_IN["start"]:
        return service
    _check_allowed(service, "start")
    service.containers.filter(state__in=[C.STOPPED, C.START_FAILED]).update(state=C.STARTING, modified=timezone.now())
    match_container_rows(service)
    _set_state(service, S.STARTING)
    wake(CONVERGE_SERVICE, service.uuid)
    return service


@records(ActionName.SERVICE_STOP, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def stop_service(service: Service) -> Service:
    service = _locked(service)
    if service.state in ALREADY_DONE_IN["stop"]:
        return service
    _check_allowed(service, "stop")
    service.containers.filter(state__in=[C.RUNNING, C.STARTING]).update(state=C.STOPPING, modified=timezone.now())
    _set_state(service, S.STOPPING)
    wake(CONVERGE_SERVICE, service.uuid)
    return service


@records(ActionName.SERVICE_TERMINATE, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def terminate_service(service: Service) -> Service:
    service = _locked(service)
    _check_allowed(service, "terminate")
    service.containers.exclude(state=C.TERMINATED).update(state=C.TERMINATING, modified=timezone.now())
    _set_state(service, S.TERMINATING)
    wake(CONVERGE_SERVICE, service.uuid)
    return service


@records(ActionName.SERVICE_REDEPLOY, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def redeploy_service(service: Service, tag: str | None = None, reuse_volumes: bool = True) -> Service:
    """Replace every container, one at a time, by a new one from the (re)pulled image; names are kept.
    With `reuse_volumes` each new container gets the volumes of the one it replaces."""
    service = _locked(service)
    _check_allowed(service, "redeploy")
    if tag:
        service.image_tag_name = tag
    # Above every container's own generation: a container redeployed alone may be ahead of its service.
    newest = service.containers.aggregate(newest=Max("generation"))["newest"] or 0
    service.generation = max(service.generation, newest) + 1
    service.reuse_volumes = reuse_volumes
    service.synchronized = True
    service.state = S.REDEPLOYING
    service.save(update_fields=["image_tag_name", "generation", "reuse_volumes", "synchronized", "state", "modified"])
    wake(CONVERGE_SERVICE, service.uuid)
    return service


def derive_state(service: Service, containers: list[Container]) -> str:
    """The settled state of a service, read off its containers (the API's state strings, see choices.py)."""
    live = [c for c in containers if c.state not in (C.TERMINATING, C.TERMINATED)]
    running = sum(1 for c in live if c.state == C.RUNNING)
    if not live:
        return S.STOPPED
    if running == len(live):
        return S.RUNNING
    if running:
        return S.PARTLY_RUNNING
    if all(c.state == C.START_FAILED for c in live):
        return S.START_FAILED
    # A stop nobody asked for is an error unless it exited 0; one that vanished (exit code None) is one too,
    # as crash recovery counts it (recovery_action).
    if any(c.state == C.START_FAILED or (c.exit_code != 0 and not c.stopped_on_request) for c in live):
        return S.STOPPED_WITH_ERRORS
    return S.STOPPED


def next_redeploy_container(service_pk: int) -> Container | None:
    """While redeploying: when no container is in progress, mark the next old-generation one for replacement."""
    # Called after every container step: most services are not redeploying, and need no row lock to
    # say so (a redeploy that starts meanwhile converges its service, which calls this again).
    if not Service.objects.filter(pk=service_pk, state=S.REDEPLOYING).exists():
        return None
    return _next_redeploy_container(service_pk)


@transaction.atomic
def _next_redeploy_container(service_pk: int) -> Container | None:
    service = Service.objects.select_for_update().get(pk=service_pk)
    if service.state != S.REDEPLOYING:
        return None
    containers = list(service.containers.live().order_by("number"))
    if any(c.state in CONTAINER_TRANSITIONAL for c in containers):
        return None
    for container in containers:
        if container.generation < service.generation:
            if compare_and_set(
                Container.objects, container.pk, [container.state], C.STARTING, generation=service.generation
            ):
                return container
    return None


def settle_service(service_pk: int) -> Service | None:
    """Leave the in-progress state once no container has work left; otherwise change nothing."""
    # Every container step ends here; while its siblings still have work (most of a scale-up) there is
    # nothing to settle, and no need to queue for the service's row lock to find that out. The step
    # that finishes last has committed its own state before asking, so it sees no work left and settles.
    if Container.objects.filter(service_id=service_pk, state__in=CONTAINER_TRANSITIONAL).exists():
        return None
    return _settle_service(service_pk)


@transaction.atomic
@finishes_service_actions
def _settle_service(service_pk: int) -> Service | None:
    service = Service.objects.select_for_update().filter(pk=service_pk).first()
    # Not running waits for its first start: nothing settles it (a sweep would otherwise call it Stopped).
    if service is None or service.state in (S.TERMINATED, S.NOT_RUNNING):
        return service
    containers = list(service.containers.all())
    if any(c.state in CONTAINER_TRANSITIONAL for c in containers):
        return service
    if service.state == S.REDEPLOYING and any(
        c.generation < service.generation for c in containers if c.state != C.TERMINATED
    ):
        return service
    now = timezone.now()
    if service.state == S.TERMINATING:
        service.state = S.TERMINATED
        service.destroyed_datetime = now
        service.save(update_fields=["state", "destroyed_datetime", "modified"])
        for key in ApiKey.objects.active().filter(application_uuid=service.uuid):
            key.revoke()
        return service
    new_state = derive_state(service, containers)
    if new_state == service.state:
        return service
    # Read off the recorded times, not the current state: after Scaling or Redeploying the state no longer
    # says whether the service was running before (a scale must not reset `started_datetime`).
    started, stopped = service.started_datetime, service.stopped_datetime
    was_running = started is not None and (stopped is None or stopped < started)
    if new_state in (S.RUNNING, S.PARTLY_RUNNING):
        if not was_running:
            service.started_datetime = now
        service.deployed_datetime = service.deployed_datetime or now
    elif new_state in (S.STOPPED, S.STOPPED_WITH_ERRORS) and was_running or service.state == S.STOPPING:
        service.stopped_datetime = now
    service.state = new_state
    service.save()
    return service

"""Level-triggered convergence: compare what a service and its containers want with what Docker has,
and close the difference. Every function is safe to run twice, concurrently, or after a crash halfway.

A container's state carries the wish: Starting -> make it run, Stopping -> make it stop, Terminating ->
make it gone. Each step ends with a compare-and-set from the state it started from; if the user changed
the wish meanwhile, the step runs again for the new one.
"""

import logging
import shlex
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.actions.recording import finish_container_actions
from apps.containers import services as container_services
from apps.containers.choices import TRANSITIONAL, ContainerState, recovery_action
from apps.containers.links import alias_link_variables, container_link_variables
from apps.containers.models import Container, ContainerEnvVar, ContainerPort
from apps.core.transitions import compare_and_set
from apps.nodes import placement
from apps.nodes import services as node_services
from apps.nodes.models import Node, NodeState
from apps.services import services as application_services
from apps.services.choices import NetworkMode, PidMode, Role, ServiceState
from apps.services.models import Service, ServiceLink, ServicePort

from .driver import ContainerSpec, DriverError, NameConflict, NodeUnreachable, PortSpec, driver_for
from .driver.base import LABEL_CONTAINER, LABEL_GENERATION, LABEL_INSTANCE, LABEL_SERVICE, ContainerInfo, Mount
from .images import application_auth, ensure_image
from .scheduler import pick_node

logger = logging.getLogger(__name__)
C = ContainerState
A = ServiceState
MAX_PASSES = 5
DRAINED = (NodeState.TERMINATING, NodeState.TERMINATED)


def exit_code_message(exit_code: int | None, oom_killed: bool = False) -> str | None:
    if exit_code is None:
        return None
    if oom_killed:
        return f"Exit code {exit_code} (Out of memory)"
    return f"Exit code {exit_code} ({'Success' if exit_code == 0 else 'Failure'})"


def docker_name(container: Container) -> str:
    name = f"{container.unique_name}-{container.service.owner.username}"
    return name if settings.TUTUM_INSTANCE == "default" else f"{settings.TUTUM_INSTANCE}-{name}"


def instance_labels() -> dict[str, str]:
    return {LABEL_INSTANCE: settings.TUTUM_INSTANCE}


# ---------------------------------------------------------------- services


def converge_service(uuid: str) -> list[str]:
    """Bring the service's container rows in line with its target; returns the containers with work."""
    service = Service.objects.select_related("owner").filter(uuid=uuid).first()
    if service is None or service.state == A.TERMINATED:
        return []
    if service.state != A.TERMINATING and not service.image_defaults_applied:
        apply_image_defaults(service)
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        # A service not started yet gets its containers from its first start, not from a sweep.
        if locked.state not in (A.TERMINATING, A.TERMINATED, A.STOPPING, A.NOT_RUNNING):
            application_services.match_container_rows(locked)
    if service.state == A.REDEPLOYING:
        application_services.next_redeploy_container(service.pk)
    place_containers(service)
    pending = list(
        Container.objects.filter(service=service, state__in=TRANSITIONAL)
        .order_by("number")
        .values_list("uuid", "state")
    )
    if not pending:
        application_services.settle_service(service.pk)
    if service.sequential_deployment:
        # One container starts at a time, in number order; each one's step hands on to the next.
        starting = [uuid for uuid, state in pending if state == C.STARTING]
        pending = [(uuid, state) for uuid, state in pending if state != C.STARTING] + [
            (u, C.STARTING) for u in starting[:1]
        ]
    return [str(u) for u, _ in pending]


def place_containers(service: Service) -> None:
    """Give every container of the service that is to start and has no node yet its node, all in one
    pick (the use cases place new rows themselves; these are rows created while no matching node was
    reachable, or starts of containers that failed to be placed); a container converged without one (the
    sweep) still picks its own (_assign_node)."""
    with transaction.atomic():
        unplaced = list(
            Container.objects.filter(service=service, state=C.STARTING, node__isnull=True)
            .order_by("number")
            .values_list("pk", flat=True)
        )
        if not unplaced:
            return
        try:
            picked = placement.pick(service, len(unplaced))
        except placement.NoMatchingNode as exc:
            Container.objects.filter(pk__in=unplaced, state=C.STARTING, node__isnull=True).update(
                state=C.START_FAILED, exit_code=None, exit_code_msg=str(exc), modified=timezone.now()
            )
            return
        by_node: dict[int, list[int]] = {}
        for pk, node in zip(unplaced, picked, strict=True):
            if node is not None:
                by_node.setdefault(node.pk, []).append(pk)
        for node_pk, pks in by_node.items():
            Container.objects.filter(pk__in=pks, node__isnull=True).update(node_id=node_pk)


def apply_image_defaults(service: Service) -> None:
    """Ports, command and entrypoint a service did not set come from its image (the spec's defaults)."""
    node = pick_node()
    driver = driver_for(node)
    try:
        auth = application_auth(service)
        image = ensure_image(driver, service.image_repository, service.image_tag_name, auth)
    except NodeUnreachable:
        raise
    except DriverError as exc:
        logger.info("image %s not available yet: %s", service.image_name, exc)
        return
    if image is None:
        return
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        if locked.image_defaults_applied:
            return
        if not locked.ports.exists() and image.ports:
            ServicePort.objects.bulk_create(
                ServicePort(service=locked, inner_port=p.inner_port, protocol=p.protocol) for p in image.ports
            )
            for container in locked.containers.filter(state=C.STARTING, docker_id=""):
                ContainerPort.objects.bulk_create(
                    ContainerPort(container=container, inner_port=p.inner_port, protocol=p.protocol)
                    for p in image.ports
                )
        locked.run_command = locked.run_command or shlex.join(image.command)
        locked.entrypoint = locked.entrypoint or shlex.join(image.entrypoint)
        locked.image_envvars = dict(image.env)
        locked.image_defaults_applied = True
        locked.save(update_fields=["run_command", "entrypoint", "image_envvars", "image_defaults_applied", "modified"])


# ---------------------------------------------------------------- containers


def converge_container(uuid: str) -> list[str]:
    """Do the container's pending work, then let its service settle; returns follow-up containers."""
    container = None
    for _ in range(MAX_PASSES):
        container = _load(uuid)
        if container is None:
            return []
        if container.state == C.STARTING:
            done = ensure_running(container)
        elif container.state == C.STOPPING:
            done = ensure_stopped(container)
        elif container.state == C.TERMINATING:
            done = ensure_removed(container)
        else:
            break
        if done:
            break
    if container is None:
        return []
    finish_container_actions(container.uuid)
    if container.node is not None and container.node.state == NodeState.TERMINATING:
        node_services.finish_drain(container.node_id)  # the last container of a drained node is gone
    application_services.settle_service(container.service_id)
    follow_up = application_services.next_redeploy_container(container.service_id)
    if follow_up is None and container.service.sequential_deployment:
        follow_up = _next_sequential_start(container.service_id)
    return [str(follow_up.uuid)] if follow_up else []


def _next_sequential_start(service_pk: int) -> Container | None:
    """With sequential deployment: the container whose turn it is to start (the lowest number waiting)."""
    return Container.objects.filter(service_id=service_pk, state=C.STARTING).order_by("number").first()


def _load(uuid: str) -> Container | None:
    return Container.objects.select_related("service__owner", "node").filter(uuid=uuid).first()


def _find_existing(container: Container, driver) -> ContainerInfo | None:
    """The Docker container the row already has, if any.

    A row with no docker_id yet is not looked up: a container an interrupted step created for it holds
    the row's Docker name, so the create that follows meets a NameConflict and adopts it
    (_create_or_adopt). Only a recorded container that has gone is searched for by label.
    """
    if not container.docker_id:
        return None
    info = driver.inspect(container.docker_id)
    if info is not None:
        return info
    found = driver.list({**instance_labels(), LABEL_CONTAINER: str(container.uuid)})
    return found[0] if found else None


def _assign_node(container: Container) -> Node | None:
    """The container's node, placed now by the service's rules when it has none. None: no node matches
    the service's tags (the container is then `Start failed` saying so). Raises NodeUnreachable when
    every matching node is unreachable, so the task tries again later."""
    if container.node_id is None:
        with transaction.atomic():
            try:
                (node,) = placement.pick(container.service, 1)
            except placement.NoMatchingNode as exc:
                failed = {"exit_code": None, "exit_code_msg": str(exc)}
                compare_and_set(Container.objects, container.pk, [C.STARTING], C.START_FAILED, **failed)
                return None
            if node is None:
                raise NodeUnreachable("No node the service may run on is reachable.")
            Container.objects.filter(pk=container.pk, node__isnull=True).update(node=node)
        container.refresh_from_db(fields=["node"])
    return container.node


def mark_node(node: Node, reachable: bool, error: str = "") -> None:
    if reachable:
        # Every step on a node ends here: within a second of the last mark, a reachable node is left as it
        # is rather than rewriting (and locking) its row once per container of a scale-up.
        now = timezone.now()
        fresh = Q(state=NodeState.REACHABLE, last_error="", last_seen__gte=now - timezone.timedelta(seconds=1))
        Node.objects.filter(pk=node.pk).exclude(fresh).update(
            state=_unless_drained(NodeState.REACHABLE), last_seen=now, last_error=""
        )
    else:
        Node.objects.filter(pk=node.pk).update(state=_unless_drained(NodeState.UNREACHABLE), last_error=error)


def _unless_drained(state: str):
    """The new state, except that a node being drained (or drained) stays so whatever its engine does."""
    return Case(When(state__in=DRAINED, then=F("state")), default=Value(state))


def ensure_running(container: Container) -> bool:
    """Starting -> Running (or Start failed with Docker's reason). Creates the Docker container if missing."""
    node = _assign_node(container)
    if node is None:
        return True
    driver = driver_for(node)
    try:
        info = _find_existing(container, driver)
        reused: tuple[Mount, ...] = ()
        if info is not None and info.labels.get(LABEL_GENERATION) != str(container.generation):
            # Redeploy: the old generation goes before the new one takes its name; its volumes stay for
            # the new one when the redeploy reuses them.
            if container.service.reuse_volumes:
                reused = info.volumes
            driver.remove(info.id, volumes=not reused)
            info = None
        if info is None:
            info = _create(container, node, driver, reused)
        if not info.running:
            driver.start(info.id)
            info = driver.inspect(info.id) or info
    except NodeUnreachable as exc:
        mark_node(node, reachable=False, error=str(exc))
        raise
    except DriverError as exc:
        logger.warning("container %s failed to start: %s", container.unique_name, exc)
        return compare_and_set(
            Container.objects, container.pk, [C.STARTING], C.START_FAILED, exit_code=None, exit_code_msg=str(exc)
        )
    mark_node(node, reachable=True)
    _record_ports(container, info)
    recorded = _record_start(container, info)
    if not recorded and Container.objects.filter(pk=container.pk, state=C.TERMINATED).exists():
        # Terminated while this step created its container: the terminate step could not see a container
        # still being created, so this one is removed here rather than left to the next sweep as an orphan.
        try:
            driver.remove(info.id)
        except NodeUnreachable:
            pass  # the sweep removes it once the node answers
    return recorded


def _record_start(container: Container, info: ContainerInfo) -> bool:
    now = timezone.now()
    if info.running:
        return compare_and_set(
            Container.objects,
            container.pk,
            [C.STARTING],
            C.RUNNING,
            docker_id=info.id,
            private_ip=info.ip_address,
            started_datetime=now,
            stopped_on_request=False,
            deployed_datetime=container.deployed_datetime or now,
            exit_code=None,
            exit_code_msg=None,
            modified=now,
        )
    # It started and exited at once (e.g. a command that finishes): record how it ended.
    return compare_and_set(
        Container.objects,
        container.pk,
        [C.STARTING],
        C.STOPPED,
        docker_id=info.id,
        stopped_datetime=now,
        deployed_datetime=container.deployed_datetime or now,
        exit_code=info.exit_code,
        exit_code_msg=exit_code_message(info.exit_code, info.oom_killed),
        modified=now,
    )


def _create(container: Container, node: Node, driver, reused_volumes: tuple[Mount, ...] = ()) -> ContainerInfo:
    if not container.service.image_defaults_applied:
        # The sweep can reach a container before its service's converge took the image's defaults.
        apply_image_defaults(container.service)
        container = _load(str(container.uuid))
    spec, recorded_env = build_spec(container, node, reused_volumes)
    service = container.service
    try:
        ensure_image(driver, service.image_repository, service.image_tag_name, spec.auth)
    except NodeUnreachable:
        raise
    except DriverError as exc:
        raise DriverError(f"Cannot pull image {spec.image}: {exc}") from exc
    created = _create_or_adopt(container, spec, driver)
    if isinstance(created, ContainerInfo):
        return created
    container_id = created
    with transaction.atomic():
        Container.objects.filter(pk=container.pk).update(docker_id=container_id, node=node)
        ContainerEnvVar.objects.filter(container=container).delete()
        ContainerEnvVar.objects.bulk_create(
            ContainerEnvVar(container=container, key=k, value=v) for k, v in recorded_env.items()
        )
        ContainerPort.objects.filter(container=container).delete()
        ContainerPort.objects.bulk_create(
            ContainerPort(container=container, inner_port=p.inner_port, protocol=p.protocol) for p in spec.ports
        )
    # Just created, so not running: the caller starts it and inspects it then; no inspect needed here.
    return ContainerInfo(
        id=container_id, name=spec.name, labels=spec.labels, running=False, status="created", exit_code=None
    )


# How long a Docker name may stay taken by a container no inspect can see yet (see _create_or_adopt).
NAME_IN_FLIGHT_WAIT_SECONDS = 10.0


def _create_or_adopt(container: Container, spec: ContainerSpec, driver) -> str | ContainerInfo:
    """Create the Docker container; the id, or the container itself when a concurrent step of ours (a
    redelivered message, the sweep) created it first. A stale holder of the name is removed.

    The engine reserves a name before the container it creates can be inspected: while a concurrent step's
    create is in flight, ours meets the conflict and inspecting the name answers "no such container" (28
    times in 30 on this machine's engine). So a conflict without a holder is waited out, not counted as a
    try: the holder appears (ours: adopted) or the name is freed (a removal that was in flight).
    """
    deadline = time.monotonic() + NAME_IN_FLIGHT_WAIT_SECONDS
    pause, removals = 0.05, 0
    while True:
        try:
            return driver.create(spec)
        except NameConflict:
            holder = driver.inspect(spec.name)
            if holder is None:
                if time.monotonic() >= deadline:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if holder.labels.get(LABEL_CONTAINER) == str(container.uuid) and holder.labels.get(LABEL_GENERATION) == str(
                container.generation
            ):
                return holder
            removals += 1
            if removals > 3:
                break
            driver.remove(holder.id)
    raise DriverError(f"The Docker name {spec.name} stays taken by another container.")


def _record_ports(container: Container, info: ContainerInfo) -> None:
    for port in ContainerPort.objects.filter(container=container):
        outer = info.published.get((port.inner_port, port.protocol))
        if outer != port.outer_port:
            ContainerPort.objects.filter(pk=port.pk).update(outer_port=outer)


def _neighbours(container: Container) -> tuple[dict[str, str], tuple[str, ...]]:
    """Link variables and host names of running siblings and of every container of each linked service.

    A 2014 link (no alias) names the variables after each container (`DB_1_PORT_…`); a 2015 link with an
    alias adds the Docker-style names under it: `<ALIAS>_PORT_…` for the first container, `<ALIAS>_<n>_…`
    for each, `<ALIAS>[_<n>]_ENV_<VAR>` and `<ALIAS>_TUTUM_API_URL`, pointing at the private address.
    The host names (`/etc/hosts` entries, `name:address`) let a container reach each linked container by
    its name (`db-1`), the linked service by its name and by the link's alias (its first container), as
    Docker's links did, on any network.
    """
    service = container.service
    links = list(ServiceLink.objects.filter(from_service=service).select_related("to_service__owner"))
    neighbours = (
        Container.objects.filter(state=C.RUNNING)
        .filter(service__in=[service.pk, *(link.to_service_id for link in links)])
        .exclude(pk=container.pk)
        .select_related("service__owner")
        .prefetch_related("ports", "service__envvars")
        .order_by("service_id", "number")
    )
    by_service: dict[int, list[Container]] = {}
    variables: dict[str, str] = {}
    for neighbour in neighbours:
        variables.update(container_link_variables(neighbour))
        by_service.setdefault(neighbour.service_id, []).append(neighbour)
    hosts: dict[str, str] = {}
    for link in links:
        linked = by_service.get(link.to_service_id, [])
        if link.name:
            variables.update(alias_link_variables(link.name, link.to_service, linked))
        addressed = [c for c in linked if c.private_ip]
        for name in (link.name, link.to_service.unique_name):
            if name and addressed:
                hosts.setdefault(name.lower(), addressed[0].private_ip)
        for neighbour in addressed:
            hosts.setdefault(neighbour.unique_name.lower(), neighbour.private_ip)
    return variables, tuple(f"{name}:{address}" for name, address in hosts.items())


def _volume_name(service: Service, name: str) -> str:
    """Named volumes are the owner's own: two users' `data` are two Docker volumes."""
    volume = f"{service.owner.username}-{name}"
    return volume if settings.TUTUM_INSTANCE == "default" else f"{settings.TUTUM_INSTANCE}-{volume}"


def _mounts(service: Service, reused: tuple[Mount, ...]) -> tuple[tuple[Mount, ...], tuple[str, ...]]:
    """Docker mounts and volumes_from of the service's bindings; `reused`: the volumes of the container
    being replaced, which take the place of the anonymous volumes at the same paths."""
    mounts: dict[str, Mount] = {}
    volumes_from: list[str] = []
    for binding in service.bindings.all():
        if binding.volumes_from_id:
            source = (
                Container.objects.filter(service_id=binding.volumes_from_id)
                .exclude(docker_id="")
                .exclude(state__in=[C.TERMINATING, C.TERMINATED])
                .order_by("number")
                .first()
            )
            if source is None:
                raise DriverError(f"volumes_from: {binding.volumes_from.unique_name} has no container yet.")
            volumes_from.append(source.docker_id)
            continue
        host = binding.host_path
        if host and not host.startswith("/"):
            host = _volume_name(service, host)
        mounts[binding.container_path] = Mount(binding.container_path, host, read_only=not binding.rewritable)
    for volume in reused:
        current = mounts.get(volume.target)
        if current is None or not current.source:
            mounts[volume.target] = Mount(volume.target, volume.source, read_only=volume.read_only)
    return tuple(mounts.values()), tuple(volumes_from)


def tutum_variables(container: Container, node: Node) -> dict[str, str]:
    """What every container is told about itself (the 2014 and the 2015 variables), so the SDK inside it
    talks to this server."""
    service = container.service
    api = settings.TUTUM_API_URL
    container_uri, service_uri, node_uri = (
        f"/api/v1/container/{container.uuid}/",
        f"/api/v1/service/{service.uuid}/",
        f"/api/v1/node/{node.uuid}/",
    )
    return {
        "TUTUM_CONTAINER_API_URL": container.api_url,
        "TUTUM_APPLICATION_API_URL": service.api_url,
        "TUTUM_CONTAINER_API_URI": container_uri,
        "TUTUM_SERVICE_API_URI": service_uri,
        "TUTUM_SERVICE_API_URL": f"{api}{service_uri}",
        "TUTUM_NODE_API_URI": node_uri,
        "TUTUM_NODE_API_URL": f"{api}{node_uri}",
        "TUTUM_CONTAINER_HOSTNAME": container.unique_name,
        "TUTUM_CONTAINER_FQDN": container.public_dns,
        "TUTUM_SERVICE_HOSTNAME": service.unique_name,
        "TUTUM_SERVICE_FQDN": service.public_dns,
        "TUTUM_NODE_HOSTNAME": node.name,
        "TUTUM_NODE_FQDN": node.publish_address,
        "TUTUM_REST_HOST": api,
        "TUTUM_STREAM_HOST": settings.TUTUM_STREAM_HOST,
    }


def build_spec(
    container: Container, node: Node, reused_volumes: tuple[Mount, ...] = ()
) -> tuple[ContainerSpec, dict[str, str]]:
    """The Docker container to create, and the variables to show on the container (no secrets)."""
    service = container.service
    own = dict(service.envvars.values_list("key", "value"))
    link_variables, link_hosts = _neighbours(container)
    recorded = {**own, **link_variables}
    env = {**recorded, **tutum_variables(container, node)}
    if Role.GLOBAL in service.roles:
        _, key = ApiKey.issue(service.owner, name=f"role global: {service.unique_name}", application_uuid=service.uuid)
        env["TUTUM_AUTH"] = f"ApiKey {service.owner.username}:{key}"
    mounts, volumes_from = _mounts(service, reused_volumes)
    spec = ContainerSpec(
        name=docker_name(container),
        image=service.image_name,
        labels={
            **{str(k): str(v) for k, v in (service.labels or {}).items()},
            **instance_labels(),
            LABEL_CONTAINER: str(container.uuid),
            LABEL_SERVICE: str(service.uuid),
            LABEL_GENERATION: str(container.generation),
        },
        env=env,
        command=shlex.split(service.run_command) or None,
        entrypoint=shlex.split(service.entrypoint) or None,
        ports=tuple(PortSpec(p.inner_port, p.protocol, p.published, p.outer_port) for p in service.ports.all()),
        publish_address=node.publish_address,
        memory_mb=service.memory,
        memory_swap_mb=service.memory_swap,
        cpu_shares=service.cpu_shares,
        cpuset=service.cpuset,
        auth=application_auth(service),
        mounts=mounts,
        volumes_from=volumes_from,
        hostname=service.hostname,
        domainname=service.domainname,
        user=service.user,
        working_dir=service.working_dir,
        mac_address=service.mac_address,
        cgroup_parent=service.cgroup_parent,
        tty=service.tty,
        stdin_open=service.stdin_open,
        privileged=service.privileged,
        read_only=service.read_only,
        network_mode="host" if service.net == NetworkMode.HOST else "",
        pid_mode="host" if service.pid == PidMode.HOST else "",
        dns=tuple(service.dns),
        dns_search=tuple(service.dns_search),
        cap_add=tuple(service.cap_add),
        cap_drop=tuple(service.cap_drop),
        devices=tuple(service.devices),
        extra_hosts=(*service.extra_hosts, *link_hosts),
        security_opt=tuple(service.security_opt),
    )
    return spec, recorded


def ensure_stopped(container: Container) -> bool:
    """Stopping -> Stopped, with the exit code Docker recorded."""
    info = None
    if container.node_id and container.docker_id:
        driver = driver_for(container.node)
        try:
            driver.stop(container.docker_id, timeout=settings.TUTUM_STOP_TIMEOUT_SECONDS)
            info = driver.inspect(container.docker_id)
        except NodeUnreachable as exc:
            mark_node(container.node, reachable=False, error=str(exc))
            raise
        except DriverError as exc:
            logger.warning("stopping %s: %s", container.unique_name, exc)
    exit_code = info.exit_code if info else None
    return compare_and_set(
        Container.objects,
        container.pk,
        [C.STOPPING],
        C.STOPPED,
        stopped_datetime=timezone.now(),
        stopped_on_request=True,
        exit_code=exit_code,
        exit_code_msg=exit_code_message(exit_code, info.oom_killed if info else False),
        modified=timezone.now(),
    )


def ensure_removed(container: Container) -> bool:
    """Terminating -> Terminated: no Docker container left with this container's label."""
    if container.node_id:
        driver = driver_for(container.node)
        try:
            if container.docker_id:
                driver.remove(container.docker_id)
            for info in driver.list({**instance_labels(), LABEL_CONTAINER: str(container.uuid)}):
                driver.remove(info.id)
        except NodeUnreachable as exc:
            mark_node(container.node, reachable=False, error=str(exc))
            raise
    now = timezone.now()
    return compare_and_set(
        Container.objects, container.pk, [C.TERMINATING], C.TERMINATED, destroyed_datetime=now, modified=now
    )


# ---------------------------------------------------------------- drift seen by events and the reconciler


def observe_container(uuid: str) -> None:
    """Record what Docker says about a settled container, and apply crash recovery if it stopped on its own.

    Only Running and Stopped rows are looked at: in-progress rows belong to the step doing them, so a
    user's stop (Stopping) never counts as a crash.
    """
    container = _load(uuid)
    if container is None or container.node is None or container.state not in (C.RUNNING, C.STOPPED):
        return
    try:
        info = driver_for(container.node).inspect(container.docker_id) if container.docker_id else None
    except NodeUnreachable as exc:
        mark_node(container.node, reachable=False, error=str(exc))
        return
    service = container.service
    if container.state == C.RUNNING and not (info and info.running):
        if info is None:
            exit_code, message = None, "The Docker container disappeared."
        else:
            exit_code, message = info.exit_code, exit_code_message(info.exit_code, info.oom_killed)
        with _settling(service):
            if not container_services.record_exit(container, exit_code, message):
                return
            logger.info("container %s stopped on its own: %s", container.unique_name, message)
            action = recovery_action(service.autorestart, service.autoreplace, service.autodestroy, exit_code)
            if action:
                logger.info("container %s: crash recovery %s", container.unique_name, action)
                container_services.recover_crashed(container, action)
            application_services.settle_service(service.pk)
    elif container.state == C.STOPPED and info and info.running:
        with _settling(service):
            if container_services.record_started_outside(container):
                application_services.settle_service(service.pk)


@contextmanager
def _settling(service: Service):
    """One transaction for what Docker showed and the service's state that follows from it, so the
    API never shows a container that stopped on its own under a service still Running. The
    service's row is locked first, in the same order as the services lock it."""
    with transaction.atomic():
        Service.objects.select_for_update().filter(pk=service.pk).first()
        yield

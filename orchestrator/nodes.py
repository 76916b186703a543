"""A node's facts (Docker version, drivers, CPUs, memory, disk), as its engine reports them; a node lost.

Read at registration (`manage.py addnode`, the default node) and by every sweep of the node, so an engine
upgraded in place shows its new version within one sweep.
"""

import logging

from django.conf import settings
from django.db.models import Q

from apps.nodes.models import Node
from apps.nodes.services import EngineRefused

from .driver import Driver, DriverError, TlsMaterial, driver_for

logger = logging.getLogger(__name__)


def _facts(info) -> dict:
    return {
        "docker_version": info.docker_version,
        "docker_graphdriver": info.graph_driver,
        "docker_execdriver": info.exec_driver,
        "cpu": info.cpus,
        "memory": info.memory_mb,
        "disk": info.disk_gb,
    }


def probe_engine(docker_host: str, ca: str = "", cert: str = "", key: str = "") -> dict:
    """Ask an engine being registered for its facts, on a fresh connection (TLS when the PEMs are given);
    EngineRefused says why it did not answer. The node's fact fields."""
    from .driver.docker import probe

    tls = TlsMaterial(ca, cert, key) if cert else None
    try:
        return _facts(probe(docker_host, tls))
    except DriverError as exc:
        raise EngineRefused(f"does not answer: {exc}") from None


def refresh_facts(node: Node, driver: Driver | None = None) -> bool:
    """Record what the node's engine says about itself; False (and nothing written) when it does not answer.

    Writes only the fact columns, and only when one of them changed: a node's row is not rewritten by every
    sweep, and its state and last_seen stay the business of `converge.mark_node`.
    """
    try:
        info = (driver or driver_for(node)).info()
    except DriverError as exc:
        logger.warning("node %s: no engine facts: %s", node.name, exc)
        return False
    facts = _facts(info)
    changed = {name: value for name, value in facts.items() if getattr(node, name) != value}
    if changed:
        Node.objects.filter(pk=node.pk).update(**changed)
        for name, value in changed.items():
            setattr(node, name, value)
        logger.info("node %s: engine facts %s", node.name, changed)
    return True


def lost_nodes():
    """Nodes unreachable for longer than TUTUM_NODE_LOST_AFTER_SECONDS (counted from when they last answered)."""
    from django.utils import timezone

    from apps.nodes.models import NodeState

    since = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_NODE_LOST_AFTER_SECONDS)
    return Node.objects.filter(state=NodeState.UNREACHABLE).filter(Q(last_seen__lt=since) | Q(last_seen__isnull=True))


def recover_lost_nodes() -> list[str]:
    """Re-create elsewhere, under the same name and uuid, the containers of a lost node whose service heals
    (autorestart or autoreplace other than OFF) and that were meant to run (Running, Starting): each row
    moves to a node the service's placement picks and starts again from no Docker container. Returns the
    uuids to converge. A row with no reachable matching node stays where it is, for the next sweep.

    The copy the lost node may still run is its stale twin: the row no longer names that node, so the
    node's first sweep once it answers again removes it (reconciler.reconcile_node) before anything else
    is converged there. Between being lost and coming back a partitioned node may still run it; that is
    the price of TUTUM_NODE_LOST_AFTER_SECONDS, which should outlast any blip.
    """
    from django.db import transaction
    from django.utils import timezone

    from apps.containers.choices import ContainerState as C
    from apps.containers.models import Container
    from apps.nodes import placement
    from apps.services.choices import RecoveryPolicy, ServiceState
    from apps.services.models import Service

    heals = Q(service__autorestart__in=[RecoveryPolicy.ON_FAILURE, RecoveryPolicy.ALWAYS]) | Q(
        service__autoreplace__in=[RecoveryPolicy.ON_FAILURE, RecoveryPolicy.ALWAYS]
    )
    moved = []
    for node in lost_nodes():
        rows = (
            Container.objects.filter(node=node, state__in=[C.RUNNING, C.STARTING])
            .filter(heals)
            .exclude(service__state__in=[ServiceState.TERMINATING, ServiceState.TERMINATED, ServiceState.STOPPING])
        )
        for pk, service_id in rows.values_list("pk", "service_id"):
            with transaction.atomic():
                service = Service.objects.select_for_update().get(pk=service_id)
                try:
                    (target,) = placement.pick(service, 1)
                except placement.NoMatchingNode:
                    target = None
                if target is None or target.pk == node.pk:
                    continue
                message = f"Re-created on {target.name}: node {node.name} stopped answering."
                changed = Container.objects.filter(pk=pk, node=node, state__in=[C.RUNNING, C.STARTING]).update(
                    node=target, docker_id="", state=C.STARTING, exit_code=None, exit_code_msg=message,
                    modified=timezone.now(),
                )  # fmt: skip
                if changed:
                    logger.warning("container %s: %s", pk, message)
                    moved.append(str(Container.objects.values_list("uuid", flat=True).get(pk=pk)))
    return moved

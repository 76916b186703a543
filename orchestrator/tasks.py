"""Thin Celery tasks around converge.py and reconciler.py. Arguments are strings; bodies reload rows."""

import logging

from celery import shared_task
from celery.fixups.django import DjangoFixup
from celery.signals import task_postrun, task_prerun, worker_ready
from django.core.cache import close_caches
from django.db import close_old_connections

from apps.nodes.models import Node

from . import converge, nodes, reconciler
from .driver import NodeUnreachable
from .images import refresh_image_task  # noqa: F401 (registers orchestrator.refresh_image)
from .locks import try_advisory_lock
from .scheduler import ensure_default_node

logger = logging.getLogger(__name__)

RETRYING = {
    "acks_late": True,
    "autoretry_for": (NodeUnreachable,),
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "max_retries": 8,
}


@shared_task(name="orchestrator.converge_service", **RETRYING)
def converge_service(uuid: str) -> None:
    for container_uuid in converge.converge_service(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.converge_container", **RETRYING)
def converge_container(uuid: str) -> None:
    for container_uuid in converge.converge_container(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.observe_container", acks_late=True)
def observe_container(uuid: str) -> None:
    converge.observe_container(uuid)


@shared_task(name="orchestrator.sweep", acks_late=True)
def sweep() -> None:
    """Periodic: wake the controller for work a lost message or a dead worker left behind, then check
    every node for drift (one task per node)."""
    with try_advisory_lock("orchestrator.sweep") as acquired:
        if not acquired:
            return
        container_uuids, application_uuids = reconciler.stuck_work()
        # A node lost for TUTUM_NODE_LOST_AFTER_SECONDS: its healing containers are re-created elsewhere.
        container_uuids += nodes.recover_lost_nodes()
    for uuid in container_uuids:
        converge_container.delay(uuid)
    for uuid in application_uuids:
        converge_service.delay(uuid)
    ensure_default_node()
    for node_id in Node.objects.values_list("pk", flat=True):
        reconcile_node.delay(node_id)


@shared_task(name="orchestrator.reconcile_node", acks_late=True)
def reconcile_node(node_id: int) -> None:
    with try_advisory_lock(f"orchestrator.reconcile_node:{node_id}") as acquired:
        node = Node.objects.filter(pk=node_id).first()
        if acquired and node is not None:
            reconciler.reconcile_node(node)


@worker_ready.connect
def register_default_node(**kwargs) -> None:
    node = ensure_default_node()
    logger.info("default node: %s", node)


@worker_ready.connect
def reuse_database_connections(sender=None, **kwargs) -> None:
    """Keep each worker thread's database connection from one task to the next, as Django does between
    requests, instead of Celery's Django fixup closing it before and after every task.

    With Postgres a fresh connection is a new backend process and a SCRAM handshake: about 10 ms of CPU
    on both sides, most of a short task such as observe_container, and a scale-up of 20 containers made
    40 of them. close_old_connections() still drops a connection that failed or outlived CONN_MAX_AGE.
    On worker_ready: the fixup installs its handlers on worker_init, in an order we do not control.
    """
    app = getattr(sender, "app", None)
    for fixup in getattr(app, "_fixups", ()):
        if isinstance(fixup, DjangoFixup):
            worker_fixup = fixup.worker_fixup
            task_prerun.disconnect(worker_fixup.on_task_prerun)
            task_postrun.disconnect(worker_fixup.on_task_postrun)
    task_prerun.connect(release_stale_connections, dispatch_uid="orchestrator.release_stale_connections.pre")
    task_postrun.connect(release_stale_connections, dispatch_uid="orchestrator.release_stale_connections.post")


def release_stale_connections(sender=None, **kwargs) -> None:
    """Around a task, as Django does around a request: drop a connection that failed or outlived
    CONN_MAX_AGE. A kept one is then checked with one `SELECT 1` at the task's first query
    (CONN_HEALTH_CHECKS, on by default), so one the server closed meanwhile (a Postgres restart, a terminated
    backend) is replaced instead of failing the task."""
    if _is_eager(sender):
        return
    close_old_connections()
    close_caches()


def _is_eager(task) -> bool:
    # An eager task runs inside its caller's connection (and a test's transaction): leave it alone.
    return bool(getattr(getattr(task, "request", None), "is_eager", False))

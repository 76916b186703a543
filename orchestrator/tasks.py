"""Thin Celery tasks around converge.py and reconciler.py. Arguments are strings; bodies reload rows.

Recovery from a fault of the parts around the worker (docs/decisions.md, "Recovery"): a task whose database
or broker connection breaks tries again in a moment (outlasting_outages), and a worker that connects to the
broker, when it starts and again after losing it, resumes all work in progress (resume, sent by
tutumserver/celery.py): both converge from the database, so neither needs the message that was lost.
"""

import functools
import logging
import time

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from celery.fixups.django import DjangoFixup
from celery.signals import task_postrun, task_prerun, worker_ready
from django.conf import settings
from django.core.cache import close_caches
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from apps.nodes.models import Node
from apps.streams.events import prune_events

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

# A connection to Postgres or to the broker that broke: the server restarted, failed over or was unreachable
# for a moment. kombu raises its OperationalError once its own publish retries are spent; redis-py's errors
# come from a connection the transport had not replaced yet.
OUTAGES = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
OUTAGE_PAUSE = 0.5  # seconds between two tries: a try costs one connection attempt


def outlasting_outages(body):
    """Run the task's body again, in this thread, while its database or broker connection fails, every
    OUTAGE_PAUSE for up to TUTUM_OUTAGE_RETRY_SECONDS, dropping the broken database connection before each try.

    In process rather than with Celery's retry: a retry is a new message, which a broker that is down cannot
    take, and a task that failed is acknowledged, its work left for the sweep to find stuck (28 s after a
    Postgres restart in the middle of a scale). Every body is a level-triggered converge, safe to run again
    from the start: a Docker container an interrupted try created is adopted by the next
    (converge._create_or_adopt), and a transaction the outage cut was rolled back by the server.
    """

    @functools.wraps(body)
    def run(*args):
        deadline = time.monotonic() + settings.TUTUM_OUTAGE_RETRY_SECONDS
        tries = 0
        while True:
            tries += 1
            try:
                result = body(*args)
            except OUTAGES as exc:
                # Inside a caller's transaction (an eager task in a test) there is nothing to try again.
                if connection.in_atomic_block or time.monotonic() + OUTAGE_PAUSE > deadline:
                    raise
                if tries == 1:
                    first_line = (str(exc).strip().splitlines() or [""])[0]
                    logger.warning(
                        "%s%s: %s: %s; trying again every %.1fs for up to %ss",
                        body.__name__,
                        tuple(args),
                        type(exc).__name__,
                        first_line,
                        OUTAGE_PAUSE,
                        settings.TUTUM_OUTAGE_RETRY_SECONDS,
                    )
                _drop_connection()
                time.sleep(OUTAGE_PAUSE)
                continue
            if tries > 1:
                logger.info("%s%s: done at try %d", body.__name__, tuple(args), tries)
            return result

    return run


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - it is broken already; the next query opens a new one
        pass


@shared_task(name="orchestrator.converge_service", **RETRYING)
@outlasting_outages
def converge_service(uuid: str) -> None:
    for container_uuid in converge.converge_service(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.converge_container", **RETRYING)
@outlasting_outages
def converge_container(uuid: str) -> None:
    for container_uuid in converge.converge_container(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.observe_container", acks_late=True)
@outlasting_outages
def observe_container(uuid: str) -> None:
    converge.observe_container(uuid)


@shared_task(name="orchestrator.sweep", acks_late=True)
@outlasting_outages
def sweep() -> None:
    """Periodic: wake the controller for work a lost message or a dead worker left behind, then check
    every node for drift (one task per node)."""
    with try_advisory_lock("orchestrator.sweep") as acquired:
        if not acquired:
            return
        container_uuids, application_uuids = reconciler.stuck_work()
        # A node lost for TUTUM_NODE_LOST_AFTER_SECONDS: its healing containers are re-created elsewhere.
        container_uuids += nodes.recover_lost_nodes()
    _converge(container_uuids, application_uuids)
    ensure_default_node()
    for node_id in Node.objects.values_list("pk", flat=True):
        reconcile_node.delay(node_id)
    # The event outbox keeps what a reconnecting stream may resume from, not more.
    prune_events()


@shared_task(name="orchestrator.resume", acks_late=True)
@outlasting_outages
def resume() -> None:
    """Sent by each worker whenever it connects to the broker (tutumserver/celery.py): converge every
    service and container in progress now, however recent.

    The messages for that work may be gone: held unacknowledged by a worker that was killed (the Redis
    transport gives them back only after its visibility timeout, 300 s), or queued in a broker that
    restarted. The database still says what is wanted, so the work is resumed from it rather than waiting
    for the sweep to count it as stuck (TUTUM_STUCK_AFTER_SECONDS). Work that another worker is doing at
    the same moment is converged twice, which the steps allow (each adopts what the other created).
    """
    container_uuids, application_uuids = reconciler.in_progress_work()
    if container_uuids or application_uuids:
        logger.info(
            "resuming work in progress: %d service(s), %d container(s)", len(application_uuids), len(container_uuids)
        )
    _converge(container_uuids, application_uuids)


def _converge(container_uuids: list[str], application_uuids: list[str]) -> None:
    for uuid in container_uuids:
        converge_container.delay(uuid)
    for uuid in application_uuids:
        converge_service.delay(uuid)


@shared_task(name="orchestrator.reconcile_node", acks_late=True)
@outlasting_outages
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

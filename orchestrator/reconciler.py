"""The periodic sweep: find every difference that events and tasks missed, and converge it.

Runs from Celery beat. The global part (stuck work, services short of containers) runs under one
advisory lock; Docker drift is checked per node, each node under its own lock, so a slow or lost engine
never holds up the others.
"""

import logging

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.containers import services as container_services
from apps.containers.choices import TRANSITIONAL as CONTAINER_TRANSITIONAL
from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.nodes.models import Node
from apps.services.choices import TRANSITIONAL as APPLICATION_TRANSITIONAL
from apps.services.choices import RecoveryPolicy, ServiceState
from apps.services.models import Service

from . import converge, nodes
from .driver import NodeUnreachable, driver_for
from .driver.base import LABEL_CONTAINER

logger = logging.getLogger(__name__)
C = ContainerState


def stuck_work() -> tuple[list[str], list[str]]:
    """Containers and services left in an in-progress state longer than TUTUM_STUCK_AFTER_SECONDS
    (a lost message, a dead worker). Starting containers older than TUTUM_GIVE_UP_AFTER_SECONDS fail;
    failed starts of containers with autorestart are tried again every TUTUM_RESTART_BACKOFF_SECONDS
    (an engine restarting refuses starts for a moment; autorestart means keep trying)."""
    now = timezone.now()
    give_up = now - timezone.timedelta(seconds=settings.TUTUM_GIVE_UP_AFTER_SECONDS)
    for container in Container.objects.filter(state=C.STARTING, modified__lt=give_up):
        reason = f"Gave up after {settings.TUTUM_GIVE_UP_AFTER_SECONDS}s: the container could not be started."
        if container_services.give_up_start(container, reason):
            logger.warning("container %s: %s", container.unique_name, reason)
    crash_loop = now - timezone.timedelta(seconds=settings.TUTUM_RESTART_BACKOFF_SECONDS)
    retried = []
    for container in Container.objects.filter(
        state=C.START_FAILED,
        modified__lt=crash_loop,
        service__autorestart__in=[RecoveryPolicy.ON_FAILURE, RecoveryPolicy.ALWAYS],
    ).exclude(service__state__in=[ServiceState.TERMINATING, ServiceState.TERMINATED]):
        if container_services.retry_failed_start(container):
            logger.info("container %s: autorestart tries again after a failed start", container.unique_name)
            retried.append(container.pk)
    stale = Q(modified__lt=now - timezone.timedelta(seconds=settings.TUTUM_STUCK_AFTER_SECONDS))
    # A retried start is converged now, not once it has been Starting for TUTUM_STUCK_AFTER_SECONDS.
    container_uuids, application_uuids = _work(stale, also_containers=retried)
    for uuid in container_uuids:
        logger.info("sweep: container %s still in progress, converging again", uuid)
    for uuid in application_uuids:
        logger.info("sweep: service %s needs converging", uuid)
    return container_uuids, application_uuids


def in_progress_work() -> tuple[list[str], list[str]]:
    """Every container and service in an in-progress state, however recent, and every service short of
    its containers: what a worker resumes when it connects to the broker (orchestrator.resume), because
    the messages for that work may have died with a killed worker or a restarted broker."""
    return _work(Q())


def _work(recent: Q, also_containers=()) -> tuple[list[str], list[str]]:
    """Containers and services in an in-progress state matching `recent`, and the services short of containers;
    containers of a service in the list are left out: a service converged again fans out to them itself."""
    containers = Container.objects.filter(Q(state__in=CONTAINER_TRANSITIONAL) & recent | Q(pk__in=also_containers))
    services = Service.objects.filter(Q(state__in=APPLICATION_TRANSITIONAL) & recent)
    # Not running: created through the 2015 API and never started; its containers come with its start.
    short = (
        Service.objects.exclude(
            state__in=[*APPLICATION_TRANSITIONAL, ServiceState.TERMINATED, ServiceState.NOT_RUNNING]
        )
        .annotate(live=Count("containers", filter=~Q(containers__state__in=[C.TERMINATING, C.TERMINATED])))
        .exclude(live=F("target_num_containers"))
    )
    application_uuids = [str(u) for u in services.values_list("uuid", flat=True)]
    application_uuids += [str(u) for u in short.values_list("uuid", flat=True)]
    container_uuids = [
        str(u) for u in containers.exclude(service__uuid__in=application_uuids).values_list("uuid", flat=True)
    ]
    return container_uuids, application_uuids


def reconcile_node(node: Node) -> None:
    """Compare the node's labelled Docker containers with the database and close every difference."""
    driver = driver_for(node)
    try:
        infos = driver.list(converge.instance_labels())
    except NodeUnreachable as exc:
        converge.mark_node(node, reachable=False, error=str(exc))
        logger.warning("node %s unreachable: %s", node.name, exc)
        return
    converge.mark_node(node, reachable=True)
    nodes.refresh_facts(node, driver)  # an engine upgraded in place shows its new version
    by_uuid = {info.labels.get(LABEL_CONTAINER, ""): info for info in infos}

    settled = Container.objects.filter(node=node, state__in=[C.RUNNING, C.STOPPED]).only("uuid", "state", "docker_id")
    for container in settled:
        info = by_uuid.get(str(container.uuid))
        running = bool(info and info.running and info.id == container.docker_id)
        if (container.state == C.RUNNING) != running:
            logger.info("reconcile: %s is %s in the database but not in Docker", container.uuid, container.state)
            converge.observe_container(str(container.uuid))

    # A container whose row names another node is a stale copy (re-created there while this node was lost).
    owned = set(
        str(u)
        for u in Container.objects.filter(uuid__in=[u for u in by_uuid if u], node=node)
        .exclude(state=C.TERMINATED)
        .values_list("uuid", flat=True)
    )
    for info in infos:  # each one: several may lack the label, or share one that nobody owns
        if info.labels.get(LABEL_CONTAINER, "") not in owned:
            logger.warning("reconcile: removing Docker container %s (%s) that nobody owns", info.name, info.id[:12])
            try:
                driver.remove(info.id)
            except NodeUnreachable:
                return

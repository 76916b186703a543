"""Thin Celery tasks around converge.py. Arguments are uuid strings; bodies reload from the database."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from apps.applications.choices import TRANSITIONAL as APPLICATION_TRANSITIONAL
from apps.applications.models import Application
from apps.containers.choices import TRANSITIONAL as CONTAINER_TRANSITIONAL
from apps.containers.models import Container

from . import converge
from .driver import NodeUnreachable
from .images import refresh_image_task  # noqa: F401 (registers orchestrator.refresh_image)
from .locks import try_advisory_lock
from .scheduler import ensure_default_node

logger = logging.getLogger(__name__)

RETRYING = {
    "acks_late": True,
    "autoretry_for": (NodeUnreachable,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 8,
}


@shared_task(name="orchestrator.converge_application", **RETRYING)
def converge_application(uuid: str) -> None:
    for container_uuid in converge.converge_application(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.converge_container", **RETRYING)
def converge_container(uuid: str) -> None:
    for container_uuid in converge.converge_container(uuid):
        converge_container.delay(container_uuid)


@shared_task(name="orchestrator.sweep", acks_late=True)
def sweep() -> None:
    """Wake the controller for work left in an in-progress state: a lost message or a dead worker ends here."""
    with try_advisory_lock("orchestrator.sweep") as acquired:
        if not acquired:
            return
        stale = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_STUCK_AFTER_SECONDS)
        containers = Container.objects.filter(state__in=CONTAINER_TRANSITIONAL, modified__lt=stale)
        applications = Application.objects.filter(state__in=APPLICATION_TRANSITIONAL, modified__lt=stale)
        for uuid in containers.values_list("uuid", flat=True):
            logger.info("sweep: container %s still in progress, converging again", uuid)
            converge_container.delay(str(uuid))
        for uuid in applications.values_list("uuid", flat=True):
            logger.info("sweep: application %s still in progress, converging again", uuid)
            converge_application.delay(str(uuid))


@worker_ready.connect
def register_default_node(**kwargs) -> None:
    node = ensure_default_node()
    logger.info("default node: %s", node)

"""Use cases on single containers. Same rules as applications: lock, check, record, wake after commit."""

from django.db import transaction

from apps.applications.choices import ApplicationState
from apps.applications.models import Application
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState

from .choices import ALLOWED_FROM, ALREADY_DONE_IN, ContainerState
from .models import Container

CONVERGE_CONTAINER = "orchestrator.converge_container"
C = ContainerState


def _locked(container: Container) -> tuple[Container, Application]:
    application = Application.objects.select_for_update().get(pk=container.application_id)
    return Container.objects.select_for_update().get(pk=container.pk), application


def _move(container: Container, operation: str, new_state: str) -> Container:
    if container.state in ALREADY_DONE_IN.get(operation, ()):
        return container
    if container.state not in ALLOWED_FROM[operation]:
        raise UnsuitableState(f"Cannot {operation} the container while it is {container.state}.")
    container.state = new_state
    container.save(update_fields=["state", "modified"])
    wake(CONVERGE_CONTAINER, container.uuid)
    return container


@transaction.atomic
def start_container(container: Container) -> Container:
    container, application = _locked(container)
    if application.state in (ApplicationState.TERMINATING, ApplicationState.TERMINATED):
        raise UnsuitableState(f"Cannot start the container while its application is {application.state}.")
    return _move(container, "start", C.STARTING)


@transaction.atomic
def stop_container(container: Container) -> Container:
    container, _ = _locked(container)
    return _move(container, "stop", C.STOPPING)


@transaction.atomic
def terminate_container(container: Container) -> Container:
    """Terminate one container and lower its application's target by one, so it is not replaced."""
    container, application = _locked(container)
    if container.state not in ALLOWED_FROM["terminate"]:
        raise UnsuitableState(f"Cannot terminate the container while it is {container.state}.")
    application.target_num_containers = max(application.target_num_containers - 1, 0)
    application.save(update_fields=["target_num_containers", "modified"])
    container.state = C.TERMINATING
    container.save(update_fields=["state", "modified"])
    wake(CONVERGE_CONTAINER, container.uuid)
    return container

"""Use cases on single containers. Same rules as applications: lock, check, record, wake after commit."""

from django.db import transaction
from django.utils import timezone

from apps.applications.choices import ApplicationState
from apps.applications.models import Application
from apps.applications.services import match_container_rows
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set

from .choices import ALLOWED_FROM, ALREADY_DONE_IN, ContainerState, RecoveryAction
from .models import Container

CONVERGE_CONTAINER = "orchestrator.converge_container"
CONVERGE_APPLICATION = "orchestrator.converge_application"
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


def record_exit(container: Container, exit_code: int | None, exit_code_msg: str) -> bool:
    """A Running container stopped on its own (or vanished): Running -> Stopped, with how it ended."""
    now = timezone.now()
    return compare_and_set(
        Container.objects,
        container.pk,
        [C.RUNNING],
        C.STOPPED,
        exit_code=exit_code,
        exit_code_msg=exit_code_msg,
        stopped_on_request=False,
        stopped_datetime=now,
        modified=now,
    )


def give_up_start(container: Container, reason: str) -> bool:
    """Starting -> Start failed, when the controller could not start it for too long."""
    return compare_and_set(Container.objects, container.pk, [C.STARTING], C.START_FAILED, exit_code_msg=reason)


def retry_failed_start(container: Container) -> bool:
    """Start failed -> Starting, for crash recovery; the sweep converges it (it is in progress now)."""
    return compare_and_set(Container.objects, container.pk, [C.START_FAILED], C.STARTING, modified=timezone.now())


def record_started_outside(container: Container) -> bool:
    """Someone started a Stopped container behind our back: Stopped -> Running."""
    now = timezone.now()
    return compare_and_set(
        Container.objects, container.pk, [C.STOPPED], C.RUNNING, started_datetime=now, exit_code=None, modified=now
    )


@transaction.atomic
def recover_crashed(container: Container, action: str) -> bool:
    """Apply the crash-recovery flag that matched (design.md, "Crash recovery") to a Stopped container.

    restart: Stopped -> Starting. replace: Stopped -> Terminating and a new container takes its place
    (target unchanged). destroy: Stopped -> Terminating and the target goes down by one.
    """
    container, application = _locked(container)
    if container.state != C.STOPPED or application.state in (ApplicationState.TERMINATING, ApplicationState.TERMINATED):
        return False
    if action == RecoveryAction.RESTART:
        container.state = C.STARTING
        container.save(update_fields=["state", "modified"])
        wake(CONVERGE_CONTAINER, container.uuid)
        return True
    container.state = C.TERMINATING
    container.save(update_fields=["state", "modified"])
    if action == RecoveryAction.DESTROY:
        application.target_num_containers = max(application.target_num_containers - 1, 0)
        application.save(update_fields=["target_num_containers", "modified"])
    else:
        match_container_rows(application)
    wake(CONVERGE_APPLICATION, application.uuid)
    return True

"""Use cases on single containers. Same rules as services: lock, check, record, wake after commit."""

from django.db import transaction
from django.utils import timezone

from apps.actions.choices import ActionName, TargetKind
from apps.actions.recording import records
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set
from apps.services.choices import ServiceState
from apps.services.models import Service
from apps.services.services import match_container_rows

from .choices import ALLOWED_FROM, ALREADY_DONE_IN, ContainerState, RecoveryAction
from .models import Container

CONVERGE_CONTAINER = "orchestrator.converge_container"
CONVERGE_SERVICE = "orchestrator.converge_service"
C = ContainerState


def _locked(container: Container) -> tuple[Container, Service]:
    service = Service.objects.select_for_update().get(pk=container.service_id)
    return Container.objects.select_for_update().get(pk=container.pk), service


def _move(container: Container, operation: str, new_state: str) -> Container:
    if container.state in ALREADY_DONE_IN.get(operation, ()):
        return container
    if container.state not in ALLOWED_FROM[operation]:
        raise UnsuitableState(f"Cannot {operation} the container while it is {container.state}.")
    container.state = new_state
    container.save(update_fields=["state", "modified"])
    wake(CONVERGE_CONTAINER, container.uuid)
    return container


@records(ActionName.CONTAINER_START, TargetKind.CONTAINER, retryable=True)
@transaction.atomic
def start_container(container: Container) -> Container:
    container, service = _locked(container)
    if service.state in (ServiceState.TERMINATING, ServiceState.TERMINATED):
        raise UnsuitableState(f"Cannot start the container while its service is {service.state}.")
    return _move(container, "start", C.STARTING)


@records(ActionName.CONTAINER_STOP, TargetKind.CONTAINER, retryable=True)
@transaction.atomic
def stop_container(container: Container) -> Container:
    container, _ = _locked(container)
    return _move(container, "stop", C.STOPPING)


@records(ActionName.CONTAINER_REDEPLOY, TargetKind.CONTAINER, retryable=True)
@transaction.atomic
def redeploy_container(container: Container, reuse_volumes: bool = True) -> Container:
    """Replace one container by a new one of the service's current definition, under the same name; with
    `reuse_volumes` the new one gets the old one's volumes. Running/Stopped/Start failed -> Starting."""
    container, service = _locked(container)
    if service.state in (ServiceState.TERMINATING, ServiceState.TERMINATED):
        raise UnsuitableState(f"Cannot redeploy the container while its service is {service.state}.")
    if container.state not in ALLOWED_FROM["redeploy"]:
        raise UnsuitableState(f"Cannot redeploy the container while it is {container.state}.")
    # A generation of its own, above the service's: the controller replaces the Docker container when the
    # generation on its label differs; the service's next redeploy goes above this one again.
    service.reuse_volumes = reuse_volumes
    service.save(update_fields=["reuse_volumes", "modified"])
    container.generation = max(container.generation, service.generation) + 1
    container.state = C.STARTING
    container.save(update_fields=["generation", "state", "modified"])
    wake(CONVERGE_CONTAINER, container.uuid)
    return container


@records(ActionName.CONTAINER_TERMINATE, TargetKind.CONTAINER, retryable=True)
@transaction.atomic
def terminate_container(container: Container) -> Container:
    """Terminate one container and lower its service's target by one, so it is not replaced."""
    container, service = _locked(container)
    if container.state not in ALLOWED_FROM["terminate"]:
        raise UnsuitableState(f"Cannot terminate the container while it is {container.state}.")
    service.target_num_containers = max(service.target_num_containers - 1, 0)
    service.save(update_fields=["target_num_containers", "modified"])
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
    """Apply the crash-recovery flag that matched (choices.recovery_action) to a Stopped container.

    restart: Stopped -> Starting. replace: Stopped -> Terminating and a new container takes its place
    (target unchanged). destroy: Stopped -> Terminating and the target goes down by one.
    """
    container, service = _locked(container)
    if container.state != C.STOPPED or service.state in (ServiceState.TERMINATING, ServiceState.TERMINATED):
        return False
    if action == RecoveryAction.RESTART:
        container.state = C.STARTING
        container.save(update_fields=["state", "modified"])
        wake(CONVERGE_CONTAINER, container.uuid)
        return True
    container.state = C.TERMINATING
    container.save(update_fields=["state", "modified"])
    if action == RecoveryAction.DESTROY:
        service.target_num_containers = max(service.target_num_containers - 1, 0)
        service.save(update_fields=["target_num_containers", "modified"])
    else:
        match_container_rows(service)
    wake(CONVERGE_SERVICE, service.uuid)
    return True

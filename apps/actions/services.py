"""Use cases on actions (cancel, retry) and triggers (add, revoke, call).

The use cases a retry repeats register themselves when their modules are imported: both are imported here.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

# Imported for the use cases a retry repeats: they register themselves when their module is imported.
from apps.containers import services as container_services  # noqa: F401
from apps.containers.models import Container
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set
from apps.services import services as service_services
from apps.services.choices import ServiceState
from apps.services.models import Service
from apps.stacks import services as stack_services  # noqa: F401
from apps.stacks.models import Stack

from . import context
from .choices import OPEN, RETRYABLE_FROM, ActionName, ActionState, TargetKind, TriggerOperation
from .models import Action, ActionLog, Trigger
from .recording import RETRYABLE, records, run_recorded


@transaction.atomic
def cancel_action(action: Action) -> Action:
    """Pending/In progress -> Canceled. Nobody waits for the work any more; the work itself is not undone:
    the object keeps the desired state the action recorded, and the controller carries it out."""
    now = timezone.now()
    if not compare_and_set(Action.objects, action.pk, OPEN, ActionState.CANCELED, end_date=now, modified=now):
        current = Action.objects.filter(pk=action.pk).values_list("state", flat=True).first()
        raise UnsuitableState(f"Cannot cancel the action while it is {current}.")
    ActionLog.objects.create(
        action=action,
        timestamp=now,
        line=f"Canceled. The {action.target_kind} keeps the state it was asked for; nothing is undone.",
    )
    action.refresh_from_db()
    return action


def _target_of(action: Action):
    if action.target_kind == TargetKind.SERVICE:
        return Service.objects.filter(owner_id=action.owner_id, uuid=action.target_uuid).first()
    if action.target_kind == TargetKind.STACK:
        return Stack.objects.filter(owner_id=action.owner_id, uuid=action.target_uuid).first()
    return Container.objects.filter(service__owner_id=action.owner_id, uuid=action.target_uuid).first()


def retry_action(action: Action) -> Action:
    """Success/Failed/Canceled -> a new action that runs the same use case again on the same object (the
    old action is left as it was). Its own transaction: the use case's."""
    if action.state not in RETRYABLE_FROM:
        raise UnsuitableState(f"Cannot retry the action while it is {action.state}.")
    use_case = RETRYABLE.get(action.operation)
    if use_case is None:
        raise UnsuitableState(f"A {action.action} cannot be retried.")
    target = _target_of(action)
    if target is None:
        raise UnsuitableState(f"The {action.target_kind} of this action no longer exists.")
    return run_recorded(use_case, target, **action.arguments)


# ---------------------------------------------------------------- triggers


def _check_not_terminated(service: Service) -> None:
    if service.state in (ServiceState.TERMINATING, ServiceState.TERMINATED):
        raise UnsuitableState(f"Cannot add a trigger to the service while it is {service.state}.")


@transaction.atomic
def create_trigger(service: Service, name: str, operation: str) -> Trigger:
    _check_not_terminated(service)
    return Trigger.objects.create(service=service, name=name, operation=operation)


@transaction.atomic
def delete_trigger(trigger: Trigger) -> None:
    trigger.delete()


@records(ActionName.SERVICE_SCALE, TargetKind.SERVICE, retryable=True)
@transaction.atomic
def scale_up_service(service: Service, count: int = 1) -> Service:
    """A SCALEUP trigger: `count` more containers than the service's target, scaled at once."""
    locked = Service.objects.select_for_update().get(pk=service.pk)
    target = locked.target_num_containers + count
    limit = settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION
    if target > limit:
        raise UnsuitableState(f"Cannot scale the service up to {target} containers: at most {limit} are allowed.")
    return service_services.update_service(locked, {"target_num_containers": target}, scale=True)


def call_trigger(trigger: Trigger, count: int = 1) -> Action:
    """What a trigger's URL does: redeploy, or scale up by `count`. Recorded as the service's own action
    (not a user's: the caller presented no credentials). Returns that action."""
    request = context.current()
    if request is not None:
        request.is_user_action = False
    service = trigger.service
    if trigger.operation == TriggerOperation.REDEPLOY:
        return run_recorded(service_services.redeploy_service, service)
    return run_recorded(scale_up_service, service, count)

"""Actions are recorded once and finished once.

`records(name, kind)` decorates each changing use case (apps/services/services.py,
apps/containers/services.py): it runs the use case and writes the action in the same transaction, fed by
the request's context (context.py), so a refused change (4xx) records nothing. The action is `In progress`
when the change left work for the controller (the object is in an in-progress state), else `Success` at once.

The controller finishes actions through `finish_service_actions` (the service's settle step, decorated with
`finishes_service_actions`) and `finish_container_actions` (the end of a container's step): an open action
becomes `Success` when the state reached is what it asked for, else `Failed`, with the reason in its log.
"""

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.containers.choices import TRANSITIONAL as CONTAINER_TRANSITIONAL
from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.core.transitions import compare_and_set
from apps.core.uris import container_uri, service_uri, stack_uri
from apps.services.choices import TRANSITIONAL as SERVICE_TRANSITIONAL
from apps.services.choices import ServiceState
from apps.services.models import Service
from apps.stacks.choices import StackState
from apps.stacks.models import Stack

from .choices import OPEN, ActionName, ActionState, TargetKind
from .context import current
from .models import Action, ActionLog

A = ActionName
S = ActionState
C = ContainerState
SS = ServiceState
T = StackState
STACK_TRANSITIONAL = frozenset({T.STARTING, T.STOPPING, T.REDEPLOYING, T.TERMINATING})

# Use cases that a retry can repeat, by the name recorded in `Action.operation`.
RETRYABLE: dict[str, Callable] = {}
# Recorded use cases under way in this context: one nested in another (a trigger's scale-up calling the
# update) records nothing of its own.
_depth: ContextVar[int] = ContextVar("action_recording_depth", default=0)
_last_recorded: ContextVar[Action | None] = ContextVar("last_recorded_action", default=None)

# Argument values a retry can be given again (the target is the first argument, never recorded).
_PLAIN = (bool, int, float, str, type(None))


def records(name: str, kind: str, *, retryable: bool = False):
    """Decorate a use case whose first argument is (or, for a create, whose result is) the object acted on;
    the use case returns the object as it left it."""

    def decorate(use_case):
        operation = f"{use_case.__module__}.{use_case.__qualname__}" if retryable else ""
        signature = inspect.signature(use_case)

        @functools.wraps(use_case)
        def recorded(*args, **kwargs):
            depth = _depth.get()
            if depth:
                return use_case(*args, **kwargs)
            token = _depth.set(depth + 1)
            try:
                with transaction.atomic():
                    result = use_case(*args, **kwargs)
                    arguments = _plain_arguments(signature, args, kwargs) if retryable else {}
                    action = _record(name, kind, result, operation, arguments)
            finally:
                _depth.reset(token)
            _last_recorded.set(action)
            context = current()
            if context is not None:
                context.actions.append(action)
            return result

        if retryable:
            RETRYABLE[operation] = recorded
        return recorded

    return decorate


def run_recorded(use_case, *args, **kwargs) -> Action:
    """Run a recorded use case and return the action it wrote (a retry's or a trigger call's answer)."""
    token = _last_recorded.set(None)
    try:
        use_case(*args, **kwargs)
        action = _last_recorded.get()
    finally:
        _last_recorded.reset(token)
    if action is None:
        raise TypeError(f"{use_case.__qualname__} is not a recorded use case")
    return action


def _plain_arguments(signature, args, kwargs) -> dict:
    bound = signature.bind(*args, **kwargs)
    return {key: value for key, value in list(bound.arguments.items())[1:] if isinstance(value, _PLAIN)}


def _target(kind: str, result) -> tuple[int, str, bool]:
    """(owner id, object URI, work left for the controller) of a use case's result."""
    if kind == TargetKind.SERVICE:
        return result.owner_id, service_uri(result.uuid), result.state in SERVICE_TRANSITIONAL
    if kind == TargetKind.STACK:
        return result.owner_id, stack_uri(result.uuid), result.state in STACK_TRANSITIONAL
    owner_id = Service.objects.filter(pk=result.service_id).values_list("owner_id", flat=True).get()
    return owner_id, container_uri(result.uuid), result.state in CONTAINER_TRANSITIONAL


def _record(name: str, kind: str, result, operation: str, arguments: dict) -> Action:
    owner_id, uri, in_progress = _target(kind, result)
    context = current()
    now = timezone.now()
    action = Action.objects.create(
        owner_id=owner_id,
        object=uri,
        target_kind=kind,
        target_uuid=result.uuid,
        action=name,
        operation=operation,
        arguments=arguments,
        method=context.method if context else "",
        path=context.path if context else "",
        user_agent=context.user_agent if context else "",
        body=context.body if context else "",
        ip=context.ip if context else "",
        is_user_action=bool(context and context.is_user_action),
        state=S.IN_PROGRESS if in_progress else S.SUCCESS,
        start_date=now,
        end_date=None if in_progress else now,
    )
    label = f"{kind.capitalize()} {_name_of(result)}"
    if in_progress:
        line = f"{name}: {label} is {result.state}; waiting for the work to be done."
    else:
        line = f"{name}: done; {label} is {result.state}."
    ActionLog.objects.create(action=action, timestamp=now, line=line)
    return action


def _name_of(obj) -> str:
    return getattr(obj, "unique_name", None) or getattr(obj, "name", None) or str(obj.uuid)


# ---------------------------------------------------------------- finishing


def _expected_service_states(action: Action, service: Service) -> frozenset[str]:
    if action.action == A.SERVICE_TERMINATE:
        return frozenset({SS.TERMINATED})
    if action.action == A.SERVICE_STOP:
        # A stop stops what runs; a container that had failed to start before keeps its error.
        return frozenset({SS.STOPPED, SS.STOPPED_WITH_ERRORS})
    # Start, scale, redeploy, create, update: every container running; none to run is Stopped.
    return frozenset({SS.STOPPED if service.target_num_containers == 0 else SS.RUNNING})


_EXPECTED_CONTAINER_STATE = {
    A.CONTAINER_START: C.RUNNING,
    A.CONTAINER_REDEPLOY: C.RUNNING,
    A.CONTAINER_STOP: C.STOPPED,
    A.CONTAINER_TERMINATE: C.TERMINATED,
}


def _container_reasons(containers) -> list[str]:
    return [
        f"{c.unique_name}: {c.state}" + (f": {c.exit_code_msg}" if c.exit_code_msg else "")
        for c in containers
        if c.state not in (C.RUNNING, C.TERMINATED)
    ]


def _finish(action: Action, success: bool, lines: list[str]) -> None:
    now = timezone.now()
    new_state = S.SUCCESS if success else S.FAILED
    # From the state it was read in: a cancel that came first wins.
    if compare_and_set(Action.objects, action.pk, OPEN, new_state, end_date=now, modified=now):
        ActionLog.objects.bulk_create(ActionLog(action=action, timestamp=now, line=line) for line in lines)


def finishes_service_actions(settle):
    """Decorate the service's settle step (inside its transaction, returning the service or None): once the
    service is settled, finish the open actions on it and on its settled containers."""

    @functools.wraps(settle)
    def settled(*args, **kwargs):
        service = settle(*args, **kwargs)
        if service is not None and service.state not in SERVICE_TRANSITIONAL:
            finish_service_actions(service)
        return service

    return settled


def finish_service_actions(service: Service) -> None:
    """Finish what is open on a settled service (and on those of its containers that have no work left:
    a start the sweep gave up on never reaches the container's own step)."""
    settled_containers = (
        Container.objects.filter(service_id=service.pk).exclude(state__in=CONTAINER_TRANSITIONAL).values("uuid")
    )
    open_actions = list(
        Action.objects.filter(state__in=OPEN).filter(
            Q(target_kind=TargetKind.SERVICE, target_uuid=service.uuid)
            | Q(target_kind=TargetKind.CONTAINER, target_uuid__in=settled_containers)
        )
    )
    if not open_actions:
        return
    containers = list(Container.objects.filter(service_id=service.pk).order_by("number"))
    by_uuid = {c.uuid: c for c in containers}
    for action in open_actions:
        if action.target_kind == TargetKind.CONTAINER:
            _finish_container_action(action, by_uuid[action.target_uuid])
            continue
        expected = _expected_service_states(action, service)
        label = f"Service {_name_of(service)} is {service.state}"
        if service.state in expected:
            _finish(action, True, [f"{label}."])
        else:
            wanted = " or ".join(sorted(expected))
            _finish(action, False, [f"{label}, not {wanted}.", *_container_reasons(containers)])


def finish_container_actions(container_uuid) -> None:
    """At the end of a container's step: finish the open actions on it once it has no work left."""
    open_actions = list(Action.objects.open_on(TargetKind.CONTAINER, container_uuid))
    if not open_actions:
        return
    container = Container.objects.filter(uuid=container_uuid).first()
    if container is None or container.state in CONTAINER_TRANSITIONAL:
        return
    for action in open_actions:
        _finish_container_action(action, container)


def _finish_container_action(action: Action, container: Container) -> None:
    expected = _EXPECTED_CONTAINER_STATE.get(action.action, C.RUNNING)
    label = f"Container {_name_of(container)} is {container.state}"
    if container.state == expected:
        _finish(action, True, [f"{label}."])
    else:
        reason = f": {container.exit_code_msg}" if container.exit_code_msg else ""
        _finish(action, False, [f"{label}, not {expected}{reason}."])


_EXPECTED_STACK_STATE = {
    A.STACK_START: T.RUNNING,
    A.STACK_REDEPLOY: T.RUNNING,
    A.STACK_STOP: T.STOPPED,
    A.STACK_TERMINATE: T.TERMINATED,
}


def finish_stack_actions(stack: Stack) -> None:
    """When a stack's state is recorded again (its services settled): finish the open actions on it once
    it is settled. Its services' own errors are in their actions."""
    if stack.state in STACK_TRANSITIONAL:
        return
    for action in Action.objects.open_on(TargetKind.STACK, stack.uuid):
        expected = _EXPECTED_STACK_STATE.get(action.action, stack.state)
        label = f"Stack {stack.name} is {stack.state}"
        if stack.state == expected:
            _finish(action, True, [f"{label}."])
        else:
            _finish(action, False, [f"{label}, not {expected}."])

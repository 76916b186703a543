"""Use cases on stacks: a stack file in, its services created, updated or terminated through the services'
own use cases (apps/services/services.py), in link order. Nothing here talks to Docker.

A stack's state is read off its services (`derive_state`) and recorded on its row, by each use case here
in its own transaction and, for what the controller does, when one of its services is saved settled
(signals.py calls `settle_stack` after that commit): so lists can filter on it and it never lags behind
its services for longer than a commit. Only Terminating/Terminated come from the stack itself.
"""

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.actions.choices import ActionName, TargetKind
from apps.actions.recording import finish_stack_actions, records
from apps.core.exceptions import UnsuitableState
from apps.core.images import ImageReference
from apps.core.transitions import compare_and_set
from apps.services import services as service_cases
from apps.services.choices import ALLOWED_FROM, ALREADY_DONE_IN, ServiceState
from apps.services.choices import TRANSITIONAL as SERVICE_TRANSITIONAL
from apps.services.models import Service, ServiceBinding, ServiceLink

from .choices import StackState
from .models import Stack
from .stackfile import ServiceDraft, ServiceRef, StackFileError, read_stack_file

S = ServiceState
T = StackState
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GONE = (S.TERMINATING, S.TERMINATED)

# Service columns a stack file sets, compared to tell a changed service from an unchanged one.
COLUMNS = (
    "target_num_containers",
    "run_command",
    "entrypoint",
    "autorestart",
    "autodestroy",
    "autoredeploy",
    "roles",
    "tags",
    "deployment_strategy",
    "sequential_deployment",
    "privileged",
    "read_only",
    "tty",
    "stdin_open",
    "net",
    "pid",
    "cpu_shares",
    "cpuset",
    "memory",
    "memory_swap",
    "labels",
    "working_dir",
    "user",
    "hostname",
    "domainname",
    "mac_address",
    "cgroup_parent",
    "dns",
    "dns_search",
    "cap_add",
    "cap_drop",
    "devices",
    "extra_hosts",
    "security_opt",
)
# Left out of a file, these keep what the image gave the service (its command, entrypoint and ports are
# filled in from the image at the first converge), rather than being reset.
IMAGE_DEFAULTS = ("run_command", "entrypoint", "container_ports")


# ---------------------------------------------------------------- state


def derive_state(stack: Stack, services: list[Service]) -> str:
    """The stack's state, read off its services' (the stack's row says only whether it was terminated)."""
    if stack.state in (T.TERMINATING, T.TERMINATED):
        return T.TERMINATED if all(s.state == S.TERMINATED for s in services) else T.TERMINATING
    states = {s.state for s in services if s.state not in GONE}  # a service a PATCH removed does not count
    if not states:
        return T.NOT_RUNNING
    if stack.waiting:
        return T.STARTING
    if S.REDEPLOYING in states:
        return T.REDEPLOYING
    if states & {S.STARTING, S.SCALING}:
        return T.STARTING
    if S.STOPPING in states:
        return T.STOPPING
    if states == {S.NOT_RUNNING}:
        return T.NOT_RUNNING
    if states == {S.RUNNING}:
        return T.RUNNING
    if states & {S.RUNNING, S.PARTLY_RUNNING}:
        return T.PARTLY_RUNNING
    return T.STOPPED


def is_synchronized(services: list[Service]) -> bool:
    return all(s.synchronized for s in services if s.state not in GONE)


def live_services(stack: Stack) -> list[Service]:
    return list(stack.services.exclude(state__in=GONE).order_by("id"))


# ---------------------------------------------------------------- resolving a file against the database


def _find(owner, ref: ServiceRef) -> Service | None | str:
    """A service outside the file: of another stack (`svc.stack`) or standalone (`svc`); a string says why not."""
    candidates = Service.objects.owned_by(owner).exclude(state__in=GONE).filter(name=ref.name)
    if ref.stack:
        candidates = candidates.filter(stack__name=ref.stack).exclude(stack__state__in=[T.TERMINATING, T.TERMINATED])
    else:
        candidates = candidates.filter(stack__isnull=True)
    found = list(candidates[:2])
    if len(found) > 1:
        return f'several services are named "{ref}"; give it a unique name'
    return found[0] if found else None


def _plan(owner, drafts: list[ServiceDraft], stack_name: str) -> tuple[list[ServiceDraft], dict]:
    """The drafts in link order (a service after those it links to or takes volumes from), and every
    reference to a service outside the file resolved. Raises StackFileError naming the service and key."""
    names = {d.name for d in drafts}
    errors: list[str] = []
    outside: dict[ServiceRef, Service] = {}
    needs: dict[str, list[str]] = {d.name: [] for d in drafts}

    def sibling(ref: ServiceRef) -> str | None:
        return ref.name if ref.name in names and ref.stack in (None, stack_name) else None

    for draft in drafts:
        refs = [("links", ref) for ref, _ in draft.links] + [("volumes_from", ref) for ref in draft.volumes_from]
        for key, ref in refs:
            if sibling(ref):
                if ref.name == draft.name:
                    errors.append(f"{draft.name}: {key}: a service cannot name itself")
                else:
                    needs[draft.name].append(ref.name)
                continue
            if ref.stack == stack_name:
                errors.append(f'{draft.name}: {key}: no service "{ref.name}" in this stack')
                continue
            found = _find(owner, ref)
            if isinstance(found, str):
                errors.append(f"{draft.name}: {key}: {found}")
            elif found is None:
                where = f'in stack "{ref.stack}"' if ref.stack else "in the file or standalone"
                errors.append(f'{draft.name}: {key}: no service "{ref.name}" {where}')
            else:
                outside[ref] = found
    if errors:
        raise StackFileError(errors)
    by_name = {d.name: d for d in drafts}
    ordered: list[ServiceDraft] = []
    placed: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in placed:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise StackFileError([f"{visiting[-1]}: links: a cycle of links: {cycle}"])
        visiting.append(name)
        for dependency in needs[name]:
            visit(dependency)
        visiting.pop()
        placed.add(name)
        ordered.append(by_name[name])

    for draft in drafts:
        visit(draft.name)
    return ordered, outside


def _service_data(draft: ServiceDraft, stack_name: str, outside: dict, made: dict) -> dict:
    """The draft's fields as `create_service`/`update_service` take them, with its references resolved:
    `made` holds the services of the stack by name (those of the file already created or kept)."""

    def target(ref: ServiceRef) -> Service:
        return outside[ref] if ref in outside else made[ref.name]

    data = dict(draft.fields)
    data["linked_to"] = [(target(ref), alias) for ref, alias in draft.links]
    data["bindings"] = [
        *({**b, "volumes_from": None} for b in data.get("bindings", [])),
        *(
            {"host_path": "", "container_path": "", "rewritable": True, "volumes_from": target(ref)}
            for ref in draft.volumes_from
        ),
    ]
    return data


# ---------------------------------------------------------------- what changed


def _default(field: str):
    return Service._meta.get_field(field).get_default()


def _comparable(data: dict) -> dict:
    """Fields in one shape, whatever their order in the file or the database."""
    result = {}
    for key, value in data.items():
        if key == "container_ports":
            value = sorted(
                (p["inner_port"], p["protocol"], p.get("outer_port"), p.get("published", True), p.get("port_name", ""))
                for p in value
            )
        elif key == "container_envvars":
            value = sorted((e["key"], e["value"]) for e in value)
        elif key == "linked_to":
            value = sorted((s.pk, alias) for s, alias in value)
        elif key == "bindings":
            value = sorted(
                (b["host_path"], b["container_path"], b["rewritable"], b["volumes_from"].pk if b["volumes_from"] else 0)
                for b in value
            )
        elif key == "roles":
            value = sorted(value)
        result[key] = value
    return result


def current_fields(service: Service) -> dict:
    """What a stack file can set on `service`, as it is now, in the use cases' shape."""
    data = {column: getattr(service, column) for column in COLUMNS}
    data["image"] = ImageReference(service.image_repository, service.image_tag_name)
    data["container_ports"] = [
        {
            "inner_port": p.inner_port,
            "protocol": p.protocol,
            "outer_port": p.outer_port,
            "published": p.published,
            "port_name": p.port_name,
        }
        for p in service.ports.all()
    ]
    data["container_envvars"] = [{"key": e.key, "value": e.value} for e in service.envvars.all()]
    data["linked_to"] = [(link.to_service, link.name) for link in service.links_out.select_related("to_service")]
    data["bindings"] = [
        {
            "host_path": b.host_path,
            "container_path": b.container_path,
            "rewritable": b.rewritable,
            "volumes_from": b.volumes_from,
        }
        for b in service.bindings.select_related("volumes_from")
    ]
    return data


def changed_fields(service: Service, data: dict) -> dict:
    """The fields of `data` (a file's service, resolved) that differ from the service's: a key the file
    left out means the default, except the command, entrypoint and ports, which then keep the image's."""
    desired = {column: _default(column) for column in COLUMNS}
    desired.update(container_envvars=[], linked_to=[], bindings=[])
    desired.update({k: v for k, v in data.items() if k not in ("name", "nickname")})
    for key in IMAGE_DEFAULTS:
        if key not in data:
            desired.pop(key, None)
    current = current_fields(service)
    before, after = _comparable(current), _comparable(desired)
    return {key: desired[key] for key in desired if after[key] != before.get(key)}


# ---------------------------------------------------------------- use cases


def _check_name(owner, name, exclude: Stack | None = None) -> None:
    if not isinstance(name, str) or not STACK_NAME_PATTERN.match(name):
        raise ValidationError(
            {"name": ["Use 1 to 64 letters, digits, '-', '_' and '.', starting with a letter or digit."]}
        )
    taken = Stack.objects.owned_by(owner).filter(name=name).exclude(state__in=[T.TERMINATING, T.TERMINATED])
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError({"name": [f'You already have a stack named "{name}".']})


@records(ActionName.STACK_CREATE, TargetKind.STACK)
@transaction.atomic
def create_stack(owner, name: str, services_file, nickname: str = "") -> Stack:
    """Record a stack and its services, none started (`Not Running`). All or nothing: a StackFileError
    (a 400) leaves no row behind."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()  # serialise names per user
    _check_name(owner, name)
    ordered, outside = _plan(owner, read_stack_file(services_file, owner), name)
    stack = Stack.objects.create(owner=owner, name=name, nickname=nickname)
    made: dict[str, Service] = {}
    for draft in ordered:
        data = _service_data(draft, name, outside, made)
        made[draft.name] = service_cases.create_service(owner, {**data, "stack": stack}, start=False)
    return _record_state(stack)


def _locked(stack: Stack) -> Stack:
    return Stack.objects.select_for_update().get(pk=stack.pk)


def _refuse_if_terminated(stack: Stack, operation: str) -> None:
    if stack.state in (T.TERMINATING, T.TERMINATED):
        state = derive_state(stack, list(stack.services.all()))
        raise UnsuitableState(f"Cannot {operation} the stack while it is {state}.")


@records(ActionName.STACK_UPDATE, TargetKind.STACK)
@transaction.atomic
def update_stack(stack: Stack, services_file=None, name: str | None = None, nickname: str | None = None) -> Stack:
    """PATCH: the file is the whole new definition. Services it adds are created (not started: the next
    start or redeploy of the stack starts them), services it leaves out are terminated, services whose
    fields changed are updated and left `synchronized: false` (when they have containers) until a redeploy.
    A service the file gives as it is is not touched: its containers keep running as they are."""
    get_user_model().objects.select_for_update().filter(pk=stack.owner_id).first()
    stack = _locked(stack)
    _refuse_if_terminated(stack, "update")
    owner = stack.owner
    if name is not None and name != stack.name:
        _check_name(owner, name, exclude=stack)
        stack.name = name
    if nickname is not None:
        stack.nickname = nickname
    stack.save(update_fields=["name", "nickname", "modified"])
    if services_file is None:
        return stack
    ordered, outside = _plan(owner, read_stack_file(services_file, owner), stack.name)
    existing = {s.name: s for s in live_services(stack)}
    made: dict[str, Service] = {}
    for draft in ordered:
        data = _service_data(draft, stack.name, outside, made)
        service = existing.get(draft.name)
        if service is None:
            made[draft.name] = service_cases.create_service(owner, {**data, "stack": stack}, start=False)
            continue
        changes = changed_fields(service, data)
        if changes:
            service = service_cases.update_service(service, changes, scale=False)
            if service.containers.live().exists():
                # Also for the fields that need no new container (a target, a restart policy): the file
                # changed, and the stack's redeploy is what applies it.
                Service.objects.filter(pk=service.pk).update(synchronized=False, modified=timezone.now())
        made[draft.name] = service
    for service_name, service in existing.items():
        if service_name not in made:
            service_cases.terminate_service(service)
    return _record_state(stack)


def _dependencies(services: list[Service]) -> dict[int, set[int]]:
    """Service id -> the ids of the services of the same list it links to or takes volumes from."""
    ids = {s.pk for s in services}
    needs: dict[int, set[int]] = {pk: set() for pk in ids}
    for from_id, to_id in ServiceLink.objects.filter(from_service_id__in=ids).values_list(
        "from_service_id", "to_service_id"
    ):
        if to_id in ids:
            needs[from_id].add(to_id)
    for service_id, source_id in ServiceBinding.objects.filter(
        service_id__in=ids, volumes_from__isnull=False
    ).values_list("service_id", "volumes_from_id"):
        if source_id in ids:
            needs[service_id].add(source_id)
    return needs


def _in_order(services: list[Service]) -> list[Service]:
    """A service after the services of the same stack it links to or takes volumes from."""
    needs = _dependencies(services)
    ordered, placed = [], set()
    while len(ordered) < len(services):
        unplaced = [s for s in services if s.pk not in placed]
        # Any order within a cycle (stack files cannot make one; the service API could).
        ready = [s for s in unplaced if needs[s.pk] <= placed] or unplaced
        ordered.append(ready[0])
        placed.add(ready[0].pk)
    return ordered


def _startable(service: Service) -> bool:
    return service.state in ALLOWED_FROM["start"] and service.state not in ALREADY_DONE_IN["start"]


def _start_ready(services: list[Service], waiting: list[int]) -> list[int]:
    """Start each waiting service (ids in link order) none of whose stack dependencies is still to start or
    in progress, whatever came of them (a database that failed must not hold its clients back forever);
    returns the ids still waiting."""
    by_pk = {s.pk: s for s in services}
    needs = _dependencies(services)
    still: list[int] = []
    for pk in waiting:
        if pk not in by_pk or not _startable(by_pk[pk]):
            continue  # terminated, or started by hand meanwhile
        if any(dep in still or by_pk[dep].state in SERVICE_TRANSITIONAL for dep in needs[pk]):
            still.append(pk)
        else:
            by_pk[pk] = service_cases.start_service(by_pk[pk])  # now Starting: its dependents wait
    return still


def _record_state(stack: Stack) -> Stack:
    """Record the state read off the services (the caller holds the stack's row lock)."""
    state = derive_state(stack, list(stack.services.all()))
    fields = {"state": state, "waiting": stack.waiting}
    if state == T.RUNNING and stack.deployed_datetime is None:
        fields["deployed_datetime"] = timezone.now()
    Stack.objects.filter(pk=stack.pk).update(**fields, modified=timezone.now())
    for name, value in fields.items():
        setattr(stack, name, value)
    return stack


def settle_stack(stack_id: int) -> None:
    """After a service of the stack was saved settled: start what waited for it, record the stack's state."""
    with transaction.atomic():
        stack = Stack.objects.select_for_update().filter(pk=stack_id).first()
        if stack is None:
            return
        if stack.waiting:
            stack.waiting = _start_ready(live_services(stack), list(stack.waiting))
        _record_state(stack)
        finish_stack_actions(stack)


@records(ActionName.STACK_START, TargetKind.STACK, retryable=True)
@transaction.atomic
def start_stack(stack: Stack) -> Stack:
    """Start every service that is not running, each once those it links to or takes volumes from have
    settled: the services without such links at once, the others (`waiting`) as the controller settles
    their dependencies (`settle_stack`). From Not Running, Stopped or Partly running; asking while it
    starts or runs is a no-op."""
    stack = _locked(stack)
    _refuse_if_terminated(stack, "start")
    services = live_services(stack)
    state = derive_state(stack, services)
    if state in (T.STARTING, T.RUNNING):
        return stack
    if state not in (T.NOT_RUNNING, T.STOPPED, T.PARTLY_RUNNING):
        raise UnsuitableState(f"Cannot start the stack while it is {state}.")
    stack.waiting = _start_ready(services, [s.pk for s in _in_order(services) if _startable(s)])
    if stack.deployed_datetime is None:
        stack.deployed_datetime = timezone.now()
        stack.save(update_fields=["deployed_datetime", "modified"])
    return _record_state(stack)


@records(ActionName.STACK_STOP, TargetKind.STACK, retryable=True)
@transaction.atomic
def stop_stack(stack: Stack) -> Stack:
    """Stop every running service, those linked to last. From Running or Partly running (not while it
    starts, as Tutum); asking while it stops or is stopped is a no-op."""
    stack = _locked(stack)
    _refuse_if_terminated(stack, "stop")
    services = live_services(stack)
    state = derive_state(stack, services)
    if state in (T.STOPPING, T.STOPPED, T.NOT_RUNNING):
        return stack
    if state not in (T.RUNNING, T.PARTLY_RUNNING):
        raise UnsuitableState(f"Cannot stop the stack while it is {state}.")
    for service in reversed(_in_order(services)):
        if service.state in ALLOWED_FROM["stop"]:
            service_cases.stop_service(service)
    return _record_state(stack)


@records(ActionName.STACK_REDEPLOY, TargetKind.STACK, retryable=True)
@transaction.atomic
def redeploy_stack(stack: Stack, reuse_volumes: bool = True) -> Stack:
    """Replace the containers of the services a PATCH changed (`synchronized: false`) and start those it
    added; a stack with nothing unsynchronized has all its services redeployed, as Tutum did. From
    Running, Partly running or Stopped."""
    stack = _locked(stack)
    _refuse_if_terminated(stack, "redeploy")
    services = live_services(stack)
    state = derive_state(stack, services)
    if state not in (T.RUNNING, T.PARTLY_RUNNING, T.STOPPED):
        raise UnsuitableState(f"Cannot redeploy the stack while it is {state}.")
    pending = [s for s in services if not s.synchronized or s.state == S.NOT_RUNNING]
    for service in _in_order(pending or services):
        if service.state == S.NOT_RUNNING:
            service_cases.start_service(service)
        else:
            service_cases.redeploy_service(service, reuse_volumes=reuse_volumes)
    return _record_state(stack)


@records(ActionName.STACK_TERMINATE, TargetKind.STACK, retryable=True)
@transaction.atomic
def terminate_stack(stack: Stack) -> Stack:
    """Terminate every service; the stack is Terminating until the last of them is Terminated."""
    stack = _locked(stack)
    _refuse_if_terminated(stack, "terminate")
    for service in reversed(_in_order(live_services(stack))):
        service_cases.terminate_service(service)
    now = timezone.now()
    compare_and_set(
        Stack.objects, stack.pk, [stack.state], T.TERMINATING, waiting=[], destroyed_datetime=now, modified=now
    )
    stack.refresh_from_db()
    return _record_state(stack)

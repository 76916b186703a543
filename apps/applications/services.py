"""Use cases on applications: check the move is allowed, record the desired state, wake the controller.

Everything here runs inside one transaction holding the application's row lock, so concurrent requests
on one application apply one after the other. Nothing here talks to Docker.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.containers.choices import TRANSITIONAL as CONTAINER_TRANSITIONAL
from apps.containers.choices import ContainerState
from apps.containers.models import Container, ContainerPort
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set

from .choices import ALLOWED_FROM, ALREADY_DONE_IN, ApplicationState
from .models import Application, ApplicationEnvVar, ApplicationPort

CONVERGE_APPLICATION = "orchestrator.converge_application"
CONVERGE_CONTAINER = "orchestrator.converge_container"
S = ApplicationState
C = ContainerState


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("owner").get(pk=application.pk)


def _check_allowed(application: Application, operation: str) -> None:
    if application.state not in ALLOWED_FROM[operation]:
        raise UnsuitableState(f"Cannot {operation} the application while it is {application.state}.")


def _unique_name(owner, name: str) -> str:
    """`name`, or `name-2`, `name-3`... The comparison ignores case: the unique name becomes a DNS name
    and the prefix of link variables (WEB_PORT), where "Web" and "web" would be the same."""
    taken = {
        taken_name.lower()
        for taken_name in Application.objects.owned_by(owner)
        .exclude(state=S.TERMINATED)
        .filter(unique_name__istartswith=name)
        .values_list("unique_name", flat=True)
    }
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _add_containers(application: Application, count: int) -> None:
    first = application.next_container_number
    containers = Container.objects.bulk_create(
        Container(
            application=application,
            number=n,
            unique_name=f"{application.unique_name}-{n}",
            state=C.STARTING,
            generation=application.generation,
        )
        for n in range(first, first + count)
    )
    ports = list(application.ports.all())
    ContainerPort.objects.bulk_create(
        ContainerPort(container=c, inner_port=p.inner_port, protocol=p.protocol) for c in containers for p in ports
    )
    application.next_container_number = first + count
    application.save(update_fields=["next_container_number", "modified"])


def _retire_containers(application: Application, count: int) -> None:
    """Scale down: the newest live containers go first."""
    newest = application.containers.live().order_by("-number")[:count]
    Container.objects.filter(pk__in=[c.pk for c in newest]).update(state=C.TERMINATING, modified=timezone.now())


def match_container_rows(application: Application) -> None:
    """Add or retire container rows so the live ones equal the target. Caller holds the row lock."""
    live = application.containers.live().count()
    if live < application.target_num_containers:
        _add_containers(application, application.target_num_containers - live)
    elif live > application.target_num_containers:
        _retire_containers(application, live - application.target_num_containers)


def _set_state(application: Application, state: str) -> None:
    application.state = state
    application.save(update_fields=["state", "modified"])


@transaction.atomic
def create_application(owner, data: dict) -> Application:
    """Record a new application and its containers (all `Starting`); the controller creates them in Docker."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()  # serialise unique_name per user
    reference = data["image"]
    application = Application.objects.create(
        owner=owner,
        name=data["name"],
        unique_name=_unique_name(owner, data["name"]),
        image_repository=reference.repository,
        image_tag_name=reference.tag,
        container_size=data["container_size"],
        run_command=data["run_command"],
        entrypoint=data["entrypoint"],
        autorestart=data["autorestart"],
        autoreplace=data["autoreplace"],
        autodestroy=data["autodestroy"],
        roles=data["roles"],
        web_public_dns=data["web_public_dns"],
        target_num_containers=data["target_num_containers"],
        state=S.STARTING if data["target_num_containers"] else S.STOPPED,
    )
    ports = data.get("container_ports")
    if ports is not None:
        ApplicationPort.objects.bulk_create(ApplicationPort(application=application, **p) for p in ports)
    ApplicationEnvVar.objects.bulk_create(
        ApplicationEnvVar(application=application, **e) for e in data["container_envvars"]
    )
    application.linked_to.set(data["linked_to_application"])
    _add_containers(application, application.target_num_containers)
    wake(CONVERGE_APPLICATION, application.uuid)
    return application


@transaction.atomic
def update_application(application: Application, data: dict) -> Application:
    """PATCH: flags and domain are plain updates; a new target scales (state `Scaling`)."""
    application = _locked(application)
    if application.state in (S.TERMINATING, S.TERMINATED):
        raise UnsuitableState(f"Cannot update the application while it is {application.state}.")
    target = data.pop("target_num_containers", None)
    for field, value in data.items():
        setattr(application, field, value)
    if target is not None and target != application.target_num_containers:
        _check_allowed(application, "scale")
        application.target_num_containers = target
        application.state = S.SCALING
        match_container_rows(application)
        wake(CONVERGE_APPLICATION, application.uuid)
    application.save()
    return application


@transaction.atomic
def start_application(application: Application) -> Application:
    application = _locked(application)
    if application.state in ALREADY_DONE_IN["start"]:
        return application
    _check_allowed(application, "start")
    application.containers.filter(state__in=[C.STOPPED, C.START_FAILED]).update(
        state=C.STARTING, modified=timezone.now()
    )
    match_container_rows(application)
    _set_state(application, S.STARTING)
    wake(CONVERGE_APPLICATION, application.uuid)
    return application


@transaction.atomic
def stop_application(application: Application) -> Application:
    application = _locked(application)
    if application.state in ALREADY_DONE_IN["stop"]:
        return application
    _check_allowed(application, "stop")
    application.containers.filter(state__in=[C.RUNNING, C.STARTING]).update(state=C.STOPPING, modified=timezone.now())
    _set_state(application, S.STOPPING)
    wake(CONVERGE_APPLICATION, application.uuid)
    return application


@transaction.atomic
def terminate_application(application: Application) -> Application:
    application = _locked(application)
    _check_allowed(application, "terminate")
    application.containers.exclude(state=C.TERMINATED).update(state=C.TERMINATING, modified=timezone.now())
    _set_state(application, S.TERMINATING)
    wake(CONVERGE_APPLICATION, application.uuid)
    return application


@transaction.atomic
def redeploy_application(application: Application, tag: str | None) -> Application:
    """Replace every container, one at a time, by a new one from the (re)pulled image; names are kept."""
    application = _locked(application)
    _check_allowed(application, "redeploy")
    if tag:
        application.image_tag_name = tag
    application.generation += 1
    application.state = S.REDEPLOYING
    application.save(update_fields=["image_tag_name", "generation", "state", "modified"])
    wake(CONVERGE_APPLICATION, application.uuid)
    return application


def derive_state(application: Application, containers: list[Container]) -> str:
    """The settled state of an application, read off its containers (design.md, "States")."""
    live = [c for c in containers if c.state not in (C.TERMINATING, C.TERMINATED)]
    running = sum(1 for c in live if c.state == C.RUNNING)
    if not live:
        return S.STOPPED
    if running == len(live):
        return S.RUNNING
    if running:
        return S.PARTLY_RUNNING
    if all(c.state == C.START_FAILED for c in live):
        return S.START_FAILED
    # A stop nobody asked for is an error unless it exited 0; one that vanished (exit code None) is one too,
    # as crash recovery counts it (recovery_action).
    if any(c.state == C.START_FAILED or (c.exit_code != 0 and not c.stopped_on_request) for c in live):
        return S.STOPPED_WITH_ERRORS
    return S.STOPPED


def next_redeploy_container(application_pk: int) -> Container | None:
    """While redeploying: when no container is in progress, mark the next old-generation one for replacement."""
    # Called after every container step: most applications are not redeploying, and need no row lock to
    # say so (a redeploy that starts meanwhile converges its application, which calls this again).
    if not Application.objects.filter(pk=application_pk, state=S.REDEPLOYING).exists():
        return None
    return _next_redeploy_container(application_pk)


@transaction.atomic
def _next_redeploy_container(application_pk: int) -> Container | None:
    application = Application.objects.select_for_update().get(pk=application_pk)
    if application.state != S.REDEPLOYING:
        return None
    containers = list(application.containers.live().order_by("number"))
    if any(c.state in CONTAINER_TRANSITIONAL for c in containers):
        return None
    for container in containers:
        if container.generation < application.generation:
            if compare_and_set(
                Container.objects, container.pk, [container.state], C.STARTING, generation=application.generation
            ):
                return container
    return None


def settle_application(application_pk: int) -> Application | None:
    """Leave the in-progress state once no container has work left; otherwise change nothing."""
    # Every container step ends here; while its siblings still have work (most of a scale-up) there is
    # nothing to settle, and no need to queue for the application's row lock to find that out. The step
    # that finishes last has committed its own state before asking, so it sees no work left and settles.
    if Container.objects.filter(application_id=application_pk, state__in=CONTAINER_TRANSITIONAL).exists():
        return None
    return _settle_application(application_pk)


@transaction.atomic
def _settle_application(application_pk: int) -> Application | None:
    application = Application.objects.select_for_update().filter(pk=application_pk).first()
    if application is None or application.state == S.TERMINATED:
        return application
    containers = list(application.containers.all())
    if any(c.state in CONTAINER_TRANSITIONAL for c in containers):
        return application
    if application.state == S.REDEPLOYING and any(
        c.generation < application.generation for c in containers if c.state != C.TERMINATED
    ):
        return application
    now = timezone.now()
    if application.state == S.TERMINATING:
        application.state = S.TERMINATED
        application.destroyed_datetime = now
        application.save(update_fields=["state", "destroyed_datetime", "modified"])
        for key in ApiKey.objects.active().filter(application_uuid=application.uuid):
            key.revoke()
        return application
    new_state = derive_state(application, containers)
    if new_state == application.state:
        return application
    # Read off the recorded times, not the current state: after Scaling or Redeploying the state no longer
    # says whether the application was running before (a scale must not reset `started_datetime`).
    started, stopped = application.started_datetime, application.stopped_datetime
    was_running = started is not None and (stopped is None or stopped < started)
    if new_state in (S.RUNNING, S.PARTLY_RUNNING):
        if not was_running:
            application.started_datetime = now
        application.deployed_datetime = application.deployed_datetime or now
    elif new_state in (S.STOPPED, S.STOPPED_WITH_ERRORS) and was_running or application.state == S.STOPPING:
        application.stopped_datetime = now
    application.state = new_state
    application.save()
    return application

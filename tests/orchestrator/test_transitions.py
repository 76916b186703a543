"""The state machines: which move is allowed from which state, and how a settled state is derived.

Every operation is tried from every state through the services, on Postgres; nothing runs Docker.
"""

import pytest

from apps.accounts.models import ApiKey
from apps.containers import choices as container_choices
from apps.containers import services as container_services
from apps.containers.choices import ContainerState as CS
from apps.containers.models import Container
from apps.core.exceptions import UnsuitableState
from apps.services import choices as app_choices
from apps.services import services as app_services
from apps.services.choices import ServiceState as AS
from apps.services.models import Service
from tests.api.app_support import make_application, make_container, set_state, woken

pytestmark = pytest.mark.django_db

CONVERGE_SERVICE = "orchestrator.converge_service"
CONVERGE_CONTAINER = "orchestrator.converge_container"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ---------------------------------------------------------------- the state strings and transition tables


def test_service_states_are_the_exact_strings_of_both_apis():
    assert [s.value for s in AS] == [
        "Not running",  # 2015 only: a service created through /service/ waits for its start
        "Starting",
        "Running",
        "Partly running",
        "Scaling",
        "Redeploying",
        "Stopping",
        "Stopped",
        "Start failed",
        "Stopped with errors",
        "Terminating",
        "Terminated",
    ]
    assert app_choices.TRANSITIONAL == {AS.STARTING, AS.SCALING, AS.REDEPLOYING, AS.STOPPING, AS.TERMINATING}


def test_application_transition_table():
    settled_with_work = {AS.RUNNING, AS.PARTLY_RUNNING, AS.STOPPED, AS.STOPPED_WITH_ERRORS}
    assert app_choices.ALLOWED_FROM == {
        "start": {AS.NOT_RUNNING, AS.STOPPED, AS.STOPPED_WITH_ERRORS, AS.START_FAILED, AS.PARTLY_RUNNING},
        "stop": {AS.RUNNING, AS.PARTLY_RUNNING},
        # A recorded decision (docs/decisions.md, "States"; commit a631ad2): scaling while Scaling moves the goal.
        # Scaling a service never started records the target for its first start.
        "scale": settled_with_work | {AS.SCALING, AS.NOT_RUNNING},
        "redeploy": settled_with_work,
        "terminate": set(AS) - {AS.TERMINATING, AS.TERMINATED},
    }
    assert app_choices.ALREADY_DONE_IN == {"start": {AS.STARTING, AS.RUNNING}, "stop": {AS.STOPPING, AS.STOPPED}}


def test_container_transition_table():
    assert [s.value for s in CS] == [
        "Starting",
        "Running",
        "Stopping",
        "Stopped",
        "Start failed",
        "Terminating",
        "Terminated",
    ]
    assert container_choices.TRANSITIONAL == {CS.STARTING, CS.STOPPING, CS.TERMINATING}
    assert container_choices.ALLOWED_FROM == {
        "start": {CS.STOPPED, CS.START_FAILED},
        "stop": {CS.RUNNING},
        "terminate": set(CS) - {CS.TERMINATING, CS.TERMINATED},
        "redeploy": {CS.RUNNING, CS.STOPPED, CS.START_FAILED},
    }
    assert container_choices.ALREADY_DONE_IN == {"start": {CS.STARTING, CS.RUNNING}, "stop": {CS.STOPPING, CS.STOPPED}}


# ---------------------------------------------------------------- applications: every move through the services

APPLICATION_OPERATIONS = {
    "start": (lambda app: app_services.start_service(app), AS.STARTING),
    "stop": (lambda app: app_services.stop_service(app), AS.STOPPING),
    "scale": (lambda app: app_services.update_service(app, {"target_num_containers": 3}), AS.SCALING),
    "redeploy": (lambda app: app_services.redeploy_service(app, None), AS.REDEPLOYING),
    "terminate": (lambda app: app_services.terminate_service(app), AS.TERMINATING),
}


def _application_snapshot(app):
    app = Service.objects.get(pk=app.pk)
    containers = list(app.containers.order_by("number").values_list("number", "state", "generation"))
    return app.state, app.target_num_containers, app.generation, containers


@pytest.mark.parametrize("state", list(AS))
@pytest.mark.parametrize("operation", list(APPLICATION_OPERATIONS))
def test_every_application_operation_from_every_state(user, django_capture_on_commit_callbacks, operation, state):
    app = make_application(user, "web", state=state, containers=2)
    call, new_state = APPLICATION_OPERATIONS[operation]
    before = _application_snapshot(app)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if state in app_choices.ALREADY_DONE_IN.get(operation, ()):
            call(app)
            assert _application_snapshot(app) == before, "asking again changes nothing"
            assert callbacks == []
            return
        if state not in app_choices.ALLOWED_FROM[operation]:
            with pytest.raises(UnsuitableState) as refused:
                call(app)
            assert state in str(refused.value.detail)
            assert _application_snapshot(app) == before
            assert callbacks == []
            return
        call(app)
    app.refresh_from_db()
    if (operation, state) == ("scale", AS.NOT_RUNNING):
        # Nothing runs yet: the target waits for the first start, which creates that many containers.
        assert (app.state, app.target_num_containers, callbacks) == (AS.NOT_RUNNING, 3, [])
        return
    assert app.state == new_state
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(app.uuid)])]
    containers = dict(app.containers.values_list("number", "state"))
    if operation == "stop":
        assert all(containers[n] == CS.STOPPING for n in (1, 2) if before[3][n - 1][1] == CS.RUNNING)
    elif operation == "terminate":
        assert set(containers.values()) == {CS.TERMINATING}
    elif operation == "scale":
        assert (app.target_num_containers, containers[3]) == (3, CS.STARTING)
    elif operation == "redeploy":
        assert app.generation == 2


def test_start_marks_stopped_and_failed_containers_starting_and_leaves_running_ones(user):
    app = make_application(user, "web", state=AS.PARTLY_RUNNING, containers=3)
    set_state(app.containers.get(number=2), CS.STOPPED)
    set_state(app.containers.get(number=3), CS.START_FAILED)
    app_services.start_service(app)
    assert list(app.containers.order_by("number").values_list("state", flat=True)) == [CS.RUNNING] + [CS.STARTING] * 2


# ---------------------------------------------------------------- containers: every move through the services

CONTAINER_OPERATIONS = {
    "start": (container_services.start_container, CS.STARTING),
    "stop": (container_services.stop_container, CS.STOPPING),
    "terminate": (container_services.terminate_container, CS.TERMINATING),
}


@pytest.mark.parametrize("state", list(CS))
@pytest.mark.parametrize("operation", list(CONTAINER_OPERATIONS))
def test_every_container_operation_from_every_state(user, django_capture_on_commit_callbacks, operation, state):
    app = make_application(user, "web", state=AS.PARTLY_RUNNING, containers=2)
    container = app.containers.get(number=1)
    set_state(container, state)
    call, new_state = CONTAINER_OPERATIONS[operation]
    before = _application_snapshot(app)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if state in container_choices.ALREADY_DONE_IN.get(operation, ()):
            call(container)
            assert _application_snapshot(app) == before
            assert callbacks == []
            return
        if state not in container_choices.ALLOWED_FROM[operation]:
            with pytest.raises(UnsuitableState) as refused:
                call(container)
            assert state in str(refused.value.detail)
            assert _application_snapshot(app) == before
            assert callbacks == []
            return
        call(container)
    container.refresh_from_db()
    app.refresh_from_db()
    assert container.state == new_state
    assert app.target_num_containers == (1 if operation == "terminate" else 2)
    assert app.containers.get(number=2).state == CS.RUNNING
    assert woken(callbacks) == [(CONVERGE_CONTAINER, [str(container.uuid)])]


# ---------------------------------------------------------------- derive_state


def _containers(*specs):
    """Unsaved containers from (state, exit_code[, stopped_on_request]) tuples or bare states."""
    result = []
    for n, spec in enumerate(specs, start=1):
        state, exit_code, on_request = (*spec, False)[:3] if isinstance(spec, tuple) else (spec, None, False)
        result.append(
            Container(number=n, unique_name=f"web-{n}", state=state, exit_code=exit_code, stopped_on_request=on_request)
        )
    return result


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        pytest.param([CS.RUNNING], AS.RUNNING, id="one-running"),
        pytest.param([CS.RUNNING, CS.RUNNING, CS.RUNNING], AS.RUNNING, id="all-running"),
        pytest.param([CS.RUNNING, CS.TERMINATED], AS.RUNNING, id="running-and-terminated"),
        pytest.param([CS.RUNNING, CS.TERMINATING], AS.RUNNING, id="running-and-terminating"),
        pytest.param([CS.RUNNING, (CS.STOPPED, 0)], AS.PARTLY_RUNNING, id="some-running-some-stopped"),
        pytest.param([CS.RUNNING, CS.START_FAILED], AS.PARTLY_RUNNING, id="some-running-some-failed"),
        pytest.param([(CS.STOPPED, 0), (CS.STOPPED, 0)], AS.STOPPED, id="all-stopped-cleanly"),
        pytest.param([(CS.STOPPED, None, True)] * 2, AS.STOPPED, id="all-stopped-before-they-ran"),
        pytest.param([(CS.STOPPED, 137, True)], AS.STOPPED, id="killed-after-the-stop-timeout-on-request"),
        pytest.param([(CS.STOPPED, 0), (CS.STOPPED, None)], AS.STOPPED_WITH_ERRORS, id="one-vanished"),
        pytest.param([(CS.STOPPED, 0), (CS.STOPPED, 137)], AS.STOPPED_WITH_ERRORS, id="one-exit-code-not-0"),
        pytest.param([(CS.STOPPED, 1)], AS.STOPPED_WITH_ERRORS, id="exit-code-1"),
        pytest.param([(CS.STOPPED, -1)], AS.STOPPED_WITH_ERRORS, id="negative-exit-code"),
        pytest.param([(CS.STOPPED, 0), CS.START_FAILED], AS.STOPPED_WITH_ERRORS, id="stopped-and-failed"),
        pytest.param([CS.START_FAILED], AS.START_FAILED, id="none-could-start"),
        pytest.param([CS.START_FAILED, CS.START_FAILED, CS.TERMINATED], AS.START_FAILED, id="all-live-failed"),
        pytest.param([], AS.STOPPED, id="scaled-to-0"),
        pytest.param([CS.TERMINATED, CS.TERMINATED], AS.STOPPED, id="all-terminated"),
        pytest.param([(CS.TERMINATED, 1)], AS.STOPPED, id="terminated-exit-codes-do-not-count"),
    ],
)
def test_derive_state(containers, expected):
    assert app_services.derive_state(Service(), _containers(*containers)) == expected


# ---------------------------------------------------------------- settle_application


def _settle(app):
    app_services.settle_service(app.pk)
    app.refresh_from_db()
    return app


def _set_containers(app, *states, **fields):
    for number, state in enumerate(states, start=1):
        Container.objects.filter(service=app, number=number).update(state=state, **fields)


@pytest.mark.parametrize("busy", sorted(container_choices.TRANSITIONAL))
@pytest.mark.parametrize("state", sorted(app_choices.TRANSITIONAL - {AS.REDEPLOYING}))
def test_settle_keeps_the_in_progress_state_while_a_container_is_in_progress(user, state, busy):
    app = make_application(user, "web", state=state, containers=2, container_state=CS.RUNNING)
    _set_containers(app, CS.RUNNING, busy)
    assert _settle(app).state == state
    assert (app.started_datetime, app.stopped_datetime, app.destroyed_datetime) == (None, None, None)


@pytest.mark.parametrize(
    ("state", "containers", "expected"),
    [
        (AS.STARTING, [CS.RUNNING, CS.RUNNING], AS.RUNNING),
        (AS.STARTING, [CS.RUNNING, CS.START_FAILED], AS.PARTLY_RUNNING),
        (AS.STARTING, [CS.START_FAILED, CS.START_FAILED], AS.START_FAILED),
        (AS.SCALING, [CS.RUNNING, CS.RUNNING], AS.RUNNING),
        (AS.SCALING, [CS.RUNNING, CS.TERMINATED], AS.RUNNING),
        (AS.SCALING, [CS.TERMINATED, CS.TERMINATED], AS.STOPPED),
        (AS.STOPPING, [CS.STOPPED, CS.STOPPED], AS.STOPPED),
        (AS.REDEPLOYING, [CS.RUNNING, CS.RUNNING], AS.RUNNING),
        (AS.RUNNING, [CS.RUNNING, CS.STOPPED], AS.PARTLY_RUNNING),
    ],
)
def test_settle_leaves_the_in_progress_state_for_the_derived_one(user, state, containers, expected):
    app = make_application(user, "web", state=state, containers=2, container_state=CS.RUNNING)
    # Stopped as the worker records a stop that was asked for (a stop nobody asked for is an error).
    _set_containers(app, *containers, stopped_on_request=True)
    if state == AS.REDEPLOYING:
        Service.objects.filter(pk=app.pk).update(generation=2)
        Container.objects.filter(service=app).update(generation=2)
    assert _settle(app).state == expected
    if expected in (AS.RUNNING, AS.PARTLY_RUNNING) and state != AS.RUNNING:
        assert app.started_datetime is not None and app.deployed_datetime is not None
    if state == AS.STOPPING:
        assert app.stopped_datetime is not None


def test_settle_records_errors_of_a_stop(user):
    app = make_application(user, "web", state=AS.STOPPING, containers=2)
    _set_containers(app, CS.STOPPED)
    Container.objects.filter(service=app, number=2).update(state=CS.STOPPED, exit_code=2)
    assert _settle(app).state == AS.STOPPED_WITH_ERRORS
    assert app.stopped_datetime is not None


def test_settle_terminates_once_every_container_is_terminated_and_revokes_its_key(user):
    app = make_application(user, "web", state=AS.TERMINATING, containers=2, container_state=CS.TERMINATING)
    key, _ = ApiKey.issue(user, application_uuid=app.uuid)
    _set_containers(app, CS.TERMINATED)
    assert _settle(app).state == AS.TERMINATING
    assert ApiKey.objects.active().filter(pk=key.pk).exists()
    _set_containers(app, CS.TERMINATED, CS.TERMINATED)
    assert _settle(app).state == AS.TERMINATED
    assert app.destroyed_datetime is not None
    assert not ApiKey.objects.active().filter(pk=key.pk).exists()
    # Settling a terminated application again changes nothing.
    destroyed = app.destroyed_datetime
    assert _settle(app).state == AS.TERMINATED and app.destroyed_datetime == destroyed


def test_settle_keeps_redeploying_while_old_containers_remain(user):
    app = make_application(user, "web", state=AS.REDEPLOYING, containers=2)
    Service.objects.filter(pk=app.pk).update(generation=2)
    Container.objects.filter(service=app, number=1).update(generation=2)
    assert _settle(app).state == AS.REDEPLOYING
    Container.objects.filter(service=app, number=2).update(generation=2)
    assert _settle(app).state == AS.RUNNING


def test_settle_of_a_missing_application_is_none():
    assert app_services.settle_service(10**9) is None


# ---------------------------------------------------------------- next_redeploy_container


def test_next_redeploy_container_replaces_one_container_at_a_time(user):
    app = make_application(user, "web", containers=3)
    app_services.redeploy_service(app, "2.0")
    app.refresh_from_db()
    assert (app.state, app.generation) == (AS.REDEPLOYING, 2)

    order = []
    for _ in range(3):
        chosen = app_services.next_redeploy_container(app.pk)
        assert chosen is not None
        order.append(chosen.number)
        chosen.refresh_from_db()
        assert (chosen.state, chosen.generation) == (CS.STARTING, 2)
        # Nothing else is picked while that one is in progress.
        assert app_services.next_redeploy_container(app.pk) is None
        assert sorted(Container.objects.filter(service=app, state=CS.STARTING).values_list("number", flat=True)) == [
            chosen.number
        ]
        set_state(chosen, CS.RUNNING)
    assert order == [1, 2, 3]
    assert app_services.next_redeploy_container(app.pk) is None
    assert _settle(app).state == AS.RUNNING


def test_next_redeploy_container_waits_for_any_container_in_progress(user):
    app = make_application(user, "web", state=AS.REDEPLOYING, containers=2)
    Service.objects.filter(pk=app.pk).update(generation=2)
    set_state(app.containers.get(number=2), CS.STOPPING)
    assert app_services.next_redeploy_container(app.pk) is None
    set_state(app.containers.get(number=2), CS.STOPPED)
    assert app_services.next_redeploy_container(app.pk).number == 1


def test_next_redeploy_container_skips_terminated_containers_and_needs_redeploying(user):
    app = make_application(user, "web", state=AS.RUNNING, containers=2)
    Service.objects.filter(pk=app.pk).update(generation=2)
    assert app_services.next_redeploy_container(app.pk) is None  # not redeploying
    set_state(app, AS.REDEPLOYING)
    set_state(app.containers.get(number=1), CS.TERMINATED)
    make_container(app, 3, state=CS.RUNNING, generation=2)
    assert app_services.next_redeploy_container(app.pk).number == 2


# ---------------------------------------------------------------- datetimes recorded on settling


def test_scaling_a_running_application_keeps_when_it_was_started(user):
    app = make_application(user, "web", state=AS.STARTING, containers=1, container_state=CS.RUNNING)
    app = _settle(app)
    assert app.state == AS.RUNNING
    started, deployed = app.started_datetime, app.deployed_datetime
    assert started is not None and deployed is not None

    app_services.update_service(app, {"target_num_containers": 2})
    set_state(app.containers.get(number=2), CS.RUNNING)
    app = _settle(app)
    assert app.state == AS.RUNNING
    assert (app.started_datetime, app.deployed_datetime, app.stopped_datetime) == (started, deployed, None)

    app_services.redeploy_service(app, None)
    for container in app.containers.all():
        Container.objects.filter(pk=container.pk).update(generation=2)
    app = _settle(app)
    assert app.state == AS.RUNNING
    assert (app.started_datetime, app.stopped_datetime) == (started, None)


def test_scaling_a_running_application_to_zero_records_when_it_stopped(user):
    app = make_application(user, "web", state=AS.STARTING, containers=2, container_state=CS.RUNNING)
    app = _settle(app)
    started = app.started_datetime
    app_services.update_service(app, {"target_num_containers": 0})
    _set_containers(app, CS.TERMINATED, CS.TERMINATED)
    app = _settle(app)
    assert app.state == AS.STOPPED
    assert app.stopped_datetime is not None and app.stopped_datetime >= started
    assert app.started_datetime == started


def test_start_after_stop_records_a_new_start(user):
    app = _settle(make_application(user, "web", state=AS.STARTING, containers=1, container_state=CS.RUNNING))
    first_start = app.started_datetime
    app_services.stop_service(app)
    _set_containers(app, CS.STOPPED, stopped_on_request=True)
    app = _settle(app)
    assert app.state == AS.STOPPED and app.stopped_datetime >= first_start
    app_services.start_service(app)
    _set_containers(app, CS.RUNNING)
    app = _settle(app)
    assert app.state == AS.RUNNING
    assert app.started_datetime > first_start
    assert app.started_datetime >= app.stopped_datetime


def test_a_service_not_started_yet_is_neither_given_containers_nor_settled_by_a_converge(user):
    from orchestrator.converge import converge_service

    service = make_application(
        user, "later", state=AS.NOT_RUNNING, containers=0, target_num_containers=2, image_defaults_applied=True
    )
    assert converge_service(str(service.uuid)) == []
    service.refresh_from_db()
    assert (service.state, service.containers.count()) == (AS.NOT_RUNNING, 0)
    app_services.settle_service(service.pk)
    service.refresh_from_db()
    assert service.state == AS.NOT_RUNNING

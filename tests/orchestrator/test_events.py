"""Which Docker events the watcher turns into an observe task: none that only echo what the database
already says, every one that may carry news (a crash, an outside start, a removal)."""

import uuid

import pytest

from apps.containers.choices import ContainerState as CS
from apps.services.choices import ServiceState as AS
from orchestrator.events import WATCHED_ACTIONS, worth_observing
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db

DOCKER_ID = "a" * 64


def _container(user, state, docker_id=DOCKER_ID):
    service = make_application(user, f"app-{state.lower().replace(' ', '-')}", state=AS.RUNNING)
    container = service.containers.get()
    type(container).objects.filter(pk=container.pk).update(state=state, docker_id=docker_id)
    return str(container.uuid)


@pytest.mark.parametrize(
    "state, action, container_id, expected",
    [
        # Our own start, seen while the converge step still holds the row, or after it recorded it.
        pytest.param(CS.STARTING, "start", DOCKER_ID, False, id="start-of-starting"),
        pytest.param(CS.RUNNING, "start", DOCKER_ID, False, id="start-of-running"),
        # Someone else's doing.
        pytest.param(CS.RUNNING, "start", "b" * 64, True, id="start-of-another-docker-container"),
        pytest.param(CS.STOPPED, "start", DOCKER_ID, True, id="start-of-stopped"),
        pytest.param(CS.START_FAILED, "start", DOCKER_ID, True, id="start-of-start-failed"),
        # Crashes are always looked at, even while a step is in progress (died right after its start).
        pytest.param(CS.STARTING, "die", DOCKER_ID, True, id="die-of-starting"),
        pytest.param(CS.RUNNING, "die", DOCKER_ID, True, id="die-of-running"),
        pytest.param(CS.RUNNING, "oom", DOCKER_ID, True, id="oom-of-running"),
        pytest.param(CS.RUNNING, "kill", DOCKER_ID, True, id="kill-of-running"),
        pytest.param(CS.RUNNING, "stop", DOCKER_ID, True, id="stop-of-running"),
        pytest.param(CS.RUNNING, "destroy", DOCKER_ID, True, id="destroy-of-running"),
        pytest.param(CS.STOPPING, "die", DOCKER_ID, True, id="die-of-stopping"),
        # A row on its way out never becomes Running or Stopped again.
        pytest.param(CS.TERMINATING, "die", DOCKER_ID, False, id="die-of-terminating"),
        pytest.param(CS.TERMINATING, "destroy", DOCKER_ID, False, id="destroy-of-terminating"),
        pytest.param(CS.TERMINATED, "start", DOCKER_ID, False, id="start-of-terminated"),
    ],
)
def test_worth_observing(user, state, action, container_id, expected):
    assert worth_observing(action, _container(user, state), container_id) is expected


def test_an_event_of_a_container_nobody_owns_is_left_to_the_reconciler(user):
    assert worth_observing("die", str(uuid.uuid4()), DOCKER_ID) is False


def test_a_label_that_is_no_uuid_is_looked_at(user):
    assert worth_observing("die", "not-a-uuid", DOCKER_ID) is True


def test_the_watched_actions_include_every_end_of_a_container():
    assert {"die", "kill", "stop", "oom", "destroy", "start"} <= WATCHED_ACTIONS


def test_the_watcher_outlives_a_database_that_restarts(monkeypatch):
    """Reading the nodes while Postgres restarts is logged and tried again, not the end of the watcher."""
    import threading

    from django.db import OperationalError

    from orchestrator import events, scheduler

    stop = threading.Event()

    class Restarting:
        def values_list(self, *args, **kwargs):
            stop.set()  # one pass is enough to see it survive
            raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(scheduler, "ensure_default_node", lambda: None)
    monkeypatch.setattr(events.Node, "objects", Restarting())
    events.watch_all(stop)  # returns once stopped, instead of raising

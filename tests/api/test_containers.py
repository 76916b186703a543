"""Containers through the API, on Postgres, with no worker: start, stop, terminate, and who may see what."""

import uuid

import pytest

from apps.containers.models import Container
from apps.services.models import Service

from .app_support import (
    AS,
    CONTAINER_2015_DETAIL_KEYS,
    CONTAINER_DETAIL_KEYS,
    CS,
    EXTRA_KEYS,
    container_uri,
    make_application,
    set_state,
    woken,
)

pytestmark = pytest.mark.django_db

CONVERGE_CONTAINER = "orchestrator.converge_container"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def app(user):
    return make_application(user, "web", state=AS.RUNNING, containers=3)


@pytest.fixture
def container(app):
    return app.containers.get(number=2)


def _snapshot():
    return (
        list(Container.objects.order_by("pk").values_list("pk", "state")),
        list(Service.objects.order_by("pk").values_list("pk", "state", "target_num_containers")),
    )


# ---------------------------------------------------------------- start


@pytest.mark.parametrize("state", [CS.STOPPED, CS.START_FAILED])
def test_start_a_stopped_container(api, container, django_capture_on_commit_callbacks, state):
    set_state(container, state)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{container_uri(container)}start/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    assert body["state"] == "Starting"
    assert body["uuid"] == str(container.uuid)
    container.refresh_from_db()
    assert container.state == CS.STARTING
    assert woken(callbacks) == [(CONVERGE_CONTAINER, [str(container.uuid)])]


@pytest.mark.parametrize(
    ("action", "state"), [("start", CS.RUNNING), ("start", CS.STARTING), ("stop", CS.STOPPED), ("stop", CS.STOPPING)]
)
def test_asking_again_for_what_is_already_true_is_202_unchanged(
    api, container, django_capture_on_commit_callbacks, action, state
):
    set_state(container, state)
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{container_uri(container)}{action}/")
    assert response.status_code == 202
    assert response.json()["state"] == state
    assert _snapshot() == before
    assert callbacks == []


def test_stop_a_running_container(api, container, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{container_uri(container)}stop/")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    assert body["state"] == "Stopping"
    assert dict(container.service.containers.values_list("number", "state")) == {
        1: CS.RUNNING,
        2: CS.STOPPING,
        3: CS.RUNNING,
    }
    assert woken(callbacks) == [(CONVERGE_CONTAINER, [str(container.uuid)])]


@pytest.mark.parametrize(
    ("method", "action", "state"),
    [
        ("post", "start", CS.TERMINATED),
        ("post", "start", CS.TERMINATING),
        ("post", "start", CS.STOPPING),
        ("post", "stop", CS.START_FAILED),
        ("post", "stop", CS.STARTING),
        ("post", "stop", CS.TERMINATING),
        ("post", "stop", CS.TERMINATED),
        ("delete", "", CS.TERMINATING),
        ("delete", "", CS.TERMINATED),
    ],
)
def test_action_in_an_unsuitable_state_is_400_naming_the_state(
    api, container, django_capture_on_commit_callbacks, method, action, state
):
    set_state(container, state)
    before = _snapshot()
    path = f"{container_uri(container)}{action}/" if action else container_uri(container)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = getattr(api, method)(path)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error"}
    assert state in response.json()["error"]
    assert _snapshot() == before
    assert callbacks == []


@pytest.mark.parametrize("app_state", [AS.TERMINATING, AS.TERMINATED])
def test_start_a_container_of_a_terminating_application_is_400(api, app, container, app_state):
    set_state(app, app_state)
    set_state(container, CS.STOPPED)
    response = api.post(f"{container_uri(container)}start/")
    assert response.status_code == 400
    assert app_state in response.json()["error"]
    container.refresh_from_db()
    assert container.state == CS.STOPPED


# ---------------------------------------------------------------- terminate


def test_terminate_a_container_lowers_the_application_target_by_one(
    api, app, container, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.delete(container_uri(container))
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    assert body["state"] == "Terminating"
    app.refresh_from_db()
    assert app.target_num_containers == 2
    assert app.state == AS.RUNNING
    assert dict(app.containers.values_list("number", "state")) == {1: CS.RUNNING, 2: CS.TERMINATING, 3: CS.RUNNING}
    assert woken(callbacks) == [(CONVERGE_CONTAINER, [str(container.uuid)])]
    assert api.get(f"/api/v1/application/{app.uuid}/").json()["target_num_containers"] == 2


@pytest.mark.parametrize("state", [CS.STOPPED, CS.START_FAILED, CS.STARTING, CS.STOPPING])
def test_terminate_a_container_in_any_live_state(api, app, container, state):
    set_state(container, state)
    response = api.delete(container_uri(container))
    assert response.status_code == 202
    assert response.json()["state"] == "Terminating"
    app.refresh_from_db()
    assert app.target_num_containers == 2


def test_terminate_twice_is_400_and_lowers_the_target_once(api, app, container):
    assert api.delete(container_uri(container)).status_code == 202
    response = api.delete(container_uri(container))
    assert response.status_code == 400
    assert "Terminating" in response.json()["error"]
    app.refresh_from_db()
    assert app.target_num_containers == 2


def test_terminate_every_container_leaves_a_target_of_zero(api, user):
    app = make_application(user, "solo", containers=1)
    response = api.delete(container_uri(app.containers.get()))
    assert response.status_code == 202
    app.refresh_from_db()
    assert app.target_num_containers == 0


def test_start_a_terminated_container_is_400(api, app, container):
    assert api.delete(container_uri(container)).status_code == 202
    set_state(container, CS.TERMINATED)
    response = api.post(f"{container_uri(container)}start/")
    assert response.status_code == 400
    assert "Terminated" in response.json()["error"]


def test_logs_of_a_container_without_docker_container(api, container):
    response = api.get(f"{container_uri(container)}logs/")
    assert response.status_code == 200
    assert response.json() == {"logs": ""}


# ---------------------------------------------------------------- 401, 404, 405


ENDPOINTS = [
    ("get", "/api/v1/container/"),
    ("get", "{uri}"),
    ("delete", "{uri}"),
    ("post", "{uri}start/"),
    ("post", "{uri}stop/"),
    ("get", "{uri}logs/"),
]


@pytest.mark.parametrize("credentials", ["none", "wrong-key"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_credentials(make_client, user, container, method, path, credentials):
    client = make_client(user, key="not-the-key") if credentials == "wrong-key" else make_client()
    before = _snapshot()
    response = getattr(client, method)(path.format(uri=container_uri(container)))
    assert response.status_code == 401, response.content
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:])
def test_another_users_container_is_404_for_every_operation(
    other_api, container, django_capture_on_commit_callbacks, method, path
):
    set_state(container, CS.STOPPED)  # so that both start and stop would be allowed to its owner
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = getattr(other_api, method)(path.format(uri=container_uri(container)))
    assert response.status_code == 404, response.content
    assert response.json() == {"error": "Not found."}
    assert _snapshot() == before
    assert callbacks == []


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:])
def test_an_unknown_uuid_is_404(api, method, path):
    response = getattr(api, method)(path.format(uri=f"/api/v1/container/{uuid.uuid4()}/"))
    assert response.status_code == 404
    assert response.json()["error"]


def test_another_users_containers_are_not_listed(api, other_api, app):
    assert api.get("/api/v1/container/").json()["meta"]["total_count"] == 3
    assert other_api.get("/api/v1/container/").json() == {
        "meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": 0},
        "objects": [],
    }


@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/container/"), ("patch", "{uri}"), ("put", "{uri}")])
def test_containers_are_not_created_or_edited_directly(api, container, method, path):
    before = _snapshot()
    response = getattr(api, method)(path.format(uri=container_uri(container)), {"state": "Running"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]
    assert _snapshot() == before

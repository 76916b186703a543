"""Actions on the stream API: each change of an action is an event on /v1/events (parent: its object), and
/v1/action/<uuid>/logs/ gives its log lines: the tail and the end without follow, new lines until the action
ends with follow."""

import pytest
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.actions.models import Action, ActionLog
from tests.api.app_support import make_application
from tests.streams import support
from tests.streams.support import open_stream, read_messages, stream_messages

from .final_clients import final_clients  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server


def _action(owner, service, lines=()):
    action = Action.objects.create(
        owner=owner,
        object=f"/api/v1/service/{service.uuid}/",
        target_kind="service",
        target_uuid=service.uuid,
        action="Service Scale",
    )
    for line in lines:
        ActionLog.objects.create(action=action, line=line)
    return action


def test_action_changes_are_events_and_their_logs_stream(asgi_server, user, other_user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    _, other_key = ApiKey.issue(other_user)
    auth = {"Authorization": f"ApiKey alice:{key}"}
    service = make_application(user, "web", containers=0)
    service_uri = f"/api/v1/service/{service.uuid}/"

    with open_stream(address, "/v1/events", auth) as ws:
        assert read_messages(ws, until=lambda m: len(m) == 1) == [{"type": "auth"}]
        action = _action(user, service, lines=["one", "two", "three"])
        Action.objects.filter(pk=action.pk).update(state="Success", end_date=timezone.now())
        events = read_messages(ws, until=lambda m: len(m) == 2)
    action_uri = f"/api/v1/action/{action.uuid}/"
    assert [(m["type"], m["action"], m["resource_uri"], m["state"], m["parents"]) for m in events] == [
        ("action", "create", action_uri, "In progress", [service_uri]),
        ("action", "update", action_uri, "Success", [service_uri]),
    ]

    # Without follow: the tail, then the server closes; also when following an action already ended.
    logs = stream_messages(address, f"/v1/action/{action.uuid}/logs/?follow=false&tail=2", auth)
    assert [m["log"] for m in logs] == ["two", "three"]
    assert all(m["type"] == "log" and isinstance(m["timestamp"], int) for m in logs)
    assert [m["log"] for m in stream_messages(address, f"/v1/action/{action.uuid}/logs?follow=true", auth)] == [
        "one",
        "two",
        "three",
    ]
    # Another user's action is not found.
    assert stream_messages(
        address, f"/v1/action/{action.uuid}/logs/", {"Authorization": f"ApiKey bob:{other_key}"}
    ) == [{"type": "error", "data": {"errorMessage": "Not found"}}]

    # Following an open action: its tail, each new line, and the end once the action has ended.
    running = _action(user, service, lines=["waiting"])
    with open_stream(address, f"/v1/action/{running.uuid}/logs/?follow=true&tail=5", auth) as ws:
        assert [m["log"] for m in read_messages(ws, until=lambda m: len(m) == 1)] == ["waiting"]
        ActionLog.objects.create(action=running, line="container web-1 started")
        assert [m["log"] for m in read_messages(ws, until=lambda m: len(m) == 1)] == ["container web-1 started"]
        ActionLog.objects.create(action=running, line="done")
        Action.objects.filter(pk=running.pk).update(state="Success", end_date=timezone.now())
        assert [m["log"] for m in read_messages(ws, timeout=10)] == ["done"], "the server closes after the end"


def test_final_cli_action_logs(asgi_server, user, final_clients, tmp_path):  # noqa: F811
    address = asgi_server()
    _, key = ApiKey.issue(user)
    service = make_application(user, "web", containers=0)
    action = _action(user, service, lines=["Service Scale: web is Scaling", "done"])
    Action.objects.filter(pk=action.pk).update(state="Success", end_date=timezone.now())
    cli = final_clients.cli(f"http://{address}", "alice", key, home=tmp_path / "home")

    result = cli("action", "logs", str(action.uuid), timeout=60)
    assert (result.returncode, result.stdout) == (0, "Service Scale: web is Scaling\ndone\n"), result.describe()
    result = cli("action", "logs", "-t", "1", "-f", str(action.uuid), timeout=60)
    assert (result.returncode, result.stdout) == (0, "done\n"), result.describe()

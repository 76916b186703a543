"""The event stream on the ASGI server: every change of the user's objects, written by the database triggers
in the change's own transaction, in commit order, never another user's; a reconnect resumes after an id."""

import pytest

from apps.accounts.models import ApiKey
from apps.containers.models import Container
from apps.services.models import Service
from apps.streams.models import Event
from tests.api.app_support import make_application
from tests.streams import support
from tests.streams.support import open_stream, read_messages, stream_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server


def _short(messages):
    return [(m["type"], m["action"], m["resource_uri"], m["state"]) for m in messages]


def test_events_in_commit_order_only_the_users_and_resumable(asgi_server, user, other_user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    auth = {"Authorization": f"ApiKey alice:{key}"}

    for path in ("/v1/events", "/v1/events/"):
        with open_stream(address, path, auth) as ws:
            assert read_messages(ws, until=lambda m: len(m) == 1) == [{"type": "auth"}]
    assert stream_messages(address, "/v1/events", {"Authorization": "ApiKey alice:wrong"}) == [
        {"type": "error", "data": {"errorMessage": "UNAUTHORIZED"}}
    ]

    with open_stream(address, "/v1/events", auth) as ws:
        assert read_messages(ws, until=lambda m: len(m) == 1) == [{"type": "auth"}]
        service = make_application(user, "web", state="Starting", containers=1)  # one transaction each row
        container = service.containers.get()
        service_uri, container_uri = f"/api/v1/service/{service.uuid}/", f"/api/v1/container/{container.uuid}/"
        created = read_messages(ws, until=lambda m: len(m) == 2)
        assert _short(created) == [
            ("service", "create", service_uri, "Starting"),
            ("container", "create", container_uri, "Starting"),
        ]
        assert created[1]["parents"] == [service_uri] and created[0]["parents"] == []

        make_application(other_user, "theirs", containers=1)  # bob's: alice never hears of it
        Service.objects.filter(pk=service.pk).update(state="Running")
        Container.objects.filter(pk=container.pk).update(state="Stopped")
        later = read_messages(ws, until=lambda m: len(m) == 2)
        assert _short(later) == [
            ("service", "update", service_uri, "Running"),
            ("container", "update", container_uri, "Stopped"),
        ]
        assert [m["id"] for m in created + later] == sorted(m["id"] for m in created + later)

    # Reconnecting after the first event gives the rest, in order, and still nothing of bob's.
    with open_stream(address, f"/v1/events?since={created[0]['id']}", auth) as ws:
        resumed = read_messages(ws, until=lambda m: len(m) == 4)
    assert resumed[0] == {"type": "auth"}
    assert resumed[1:] == created[1:] + later
    assert Event.objects.filter(owner_id=other_user.pk).count() == 2, "bob's changes are recorded for bob"

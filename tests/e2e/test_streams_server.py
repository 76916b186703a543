"""One ASGI server (uvicorn) for the REST API and the stream API: the REST API answers on it as it does under
gunicorn, and every stream refuses wrong credentials and other users' objects the same way."""

import base64
import urllib.parse

import pytest
import requests

from apps.accounts.models import ApiKey
from tests.api.app_support import make_application
from tests.streams import support
from tests.streams.support import stream_messages

asgi_server = support.asgi_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UNAUTHORIZED = [{"type": "error", "data": {"errorMessage": "UNAUTHORIZED"}}]
NOT_FOUND = [{"type": "error", "data": {"errorMessage": "Not found"}}]


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_the_rest_api_lists_and_creates_on_the_asgi_server(asgi_server, user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    headers = {"Authorization": f"ApiKey alice:{key}", "Content-Type": "application/json"}
    url = f"http://{address}/api/v1/application/"

    empty = requests.get(url, headers=headers, timeout=10)
    assert empty.status_code == 200, empty.text
    assert empty.json()["meta"]["total_count"] == 0 and empty.json()["objects"] == []

    created = requests.post(url, json={"image": "local/busybox", "name": "web"}, headers=headers, timeout=10)
    assert created.status_code == 202, created.text
    assert created.json()["name"] == "web" and created.json()["state"] == "Starting"

    listed = requests.get(url, headers=headers, timeout=10).json()
    assert [o["uuid"] for o in listed["objects"]] == [created.json()["uuid"]]
    assert requests.get(url, timeout=10).status_code == 401


def test_every_form_of_credentials_opens_a_stream_and_a_wrong_one_is_refused(asgi_server, user, other_user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    service = make_application(user, "web", containers=1)  # no Docker container: its log is empty
    path = f"/v1/container/{service.containers.get().uuid}/logs/?follow=false"
    tutum_auth = f"ApiKey alice:{key}"

    accepted = {
        "ApiKey header (TUTUM_AUTH)": (path, {"Authorization": tutum_auth}),
        "Basic user:key": (path, {"Authorization": _basic("alice", key)}),
        "Basic user:password": (path, {"Authorization": _basic("alice", "secret-password")}),
        "?user=&token=": (f"{path}&user=alice&token={key}", {}),
        "?auth=": (f"{path}&auth={urllib.parse.quote(tutum_auth)}", {}),
    }
    for form, (url, headers) in accepted.items():
        # The container was never started on Docker: a tail of nothing, then the server closes.
        messages = stream_messages(address, url, headers)
        assert all(m["type"] != "error" or "UNAUTHORIZED" not in str(m) for m in messages), (form, messages)

    refused = {
        "no credentials": (path, {}),
        "a wrong key": (path, {"Authorization": f"ApiKey alice:{'0' * 40}"}),
        "a wrong password": (path, {"Authorization": _basic("alice", "wrong")}),
        "a wrong token": (f"{path}&user=alice&token=nope", {}),
        "malformed": (path, {"Authorization": "ApiKey nocolon"}),
    }
    for form, (url, headers) in refused.items():
        assert stream_messages(address, url, headers) == UNAUTHORIZED, form

    other = make_application(other_user, "theirs", containers=1)
    mine = {"Authorization": tutum_auth}
    for url in (
        f"/v1/container/{other.containers.get().uuid}/logs/?follow=true",
        f"/v1/container/{other.containers.get().uuid}/exec/?command=ls",
        f"/v1/service/{other.uuid}/logs/?follow=false",
        "/v1/container/not-a-uuid/logs/",
        "/v1/nothing/here/",
    ):
        assert stream_messages(address, url, mine) == NOT_FOUND, url

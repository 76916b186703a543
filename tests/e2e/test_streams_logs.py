"""Logs over the stream API, read from Docker as the container writes them, on the ASGI server with a real
worker and engine."""

import time

import pytest

from apps.accounts.models import ApiKey
from tests.streams import support
from tests.streams.support import open_stream, read_messages, stream_messages

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import api_containers, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server
TICKER = "sh -c 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done'"


@pytest.fixture
def auth(user):
    _, key = ApiKey.issue(user)
    return {"Authorization": f"ApiKey alice:{key}"}


def _logs(messages):
    return [m for m in messages if m.get("type") == "log"]


def test_container_logs_without_follow_send_the_tail_and_close(worker, api, asgi_server, auth):
    address = asgi_server()
    # Docker copies stdout and stderr apart: the pause keeps their order in its log.
    script = "for i in 1 2 3 4 5; do echo line-$i; done; sleep 0.5; echo oops >&2; sleep 3600"
    service = create_service(api, image="local/busybox", name="tail", run_command=f"sh -c '{script}'")
    wait_for_state(api, service["resource_uri"], "Running")
    (container,) = api_containers(api, service)
    path = f"/v1/container/{container['uuid']}/logs/"
    wait_for(lambda: len(_logs(stream_messages(address, f"{path}?follow=false", auth))) == 6, timeout=10)

    started = time.monotonic()
    messages = stream_messages(address, f"{path}?follow=false&tail=3", auth)
    assert time.monotonic() - started < 5, "the server closes once the tail is sent"
    assert [(m["log"], m["streamType"]) for m in messages] == [
        ("line-4\n", "stdout"),
        ("line-5\n", "stdout"),
        ("oops\n", "stderr"),
    ]
    now = time.time()
    for message in messages:
        assert set(message) == {"type", "log", "streamType", "timestamp"}
        assert isinstance(message["timestamp"], int) and now - 120 < message["timestamp"] <= now
    assert len(stream_messages(address, path, auth)) == 6, "no tail: the whole log"


def test_a_follow_receives_new_lines_and_ends_when_the_container_is_terminated(worker, api, asgi_server, auth):
    address = asgi_server()
    service = create_service(api, image="local/busybox", name="ticker", run_command=TICKER)
    wait_for_state(api, service["resource_uri"], "Running")
    (container,) = api_containers(api, service)

    with open_stream(address, f"/v1/container/{container['uuid']}/logs/?follow=true&tail=1", auth) as ws:
        first = read_messages(ws, until=lambda m: len(m) == 1)[0]
        began = time.time()
        assert first["log"].startswith("tick-")
        later = read_messages(ws, until=lambda m: len(m) == 2, timeout=10)
        ticks = [int(m["log"].strip().removeprefix("tick-")) for m in [first, *later]]
        assert ticks[1:] == [ticks[0] + 1, ticks[0] + 2], "each new line as the container writes it"
        assert later[-1]["timestamp"] >= int(began)

        assert api.delete(container["resource_uri"]).status_code == 202
        rest = read_messages(ws, timeout=30)  # returns when the server closes the socket
        assert all(m["type"] == "log" for m in rest), rest


def test_service_logs_carry_the_source_and_a_follow_takes_in_a_scale(worker, api, asgi_server, auth):
    address = asgi_server()
    service = create_service(
        api, image="local/busybox", name="chorus", run_command="sh -c 'echo hello-$HOSTNAME; sleep 3600'"
    )
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    path = f"/v1/service/{service['uuid']}/logs/"

    with open_stream(address, f"{path}?follow=true", auth) as ws:
        (hello,) = read_messages(ws, until=lambda m: len(m) == 1)
        assert hello["source"] == "chorus-1" and hello["log"].startswith("hello-")
        assert api.patch(uri, {"target_num_containers": 2}, format="json").status_code == 202
        (joined,) = read_messages(ws, until=lambda m: len(m) == 1, timeout=30)
        assert joined["source"] == "chorus-2" and joined["log"].startswith("hello-")

    wait_for_state(api, uri, "Running")
    messages = stream_messages(address, f"{path}?follow=false", auth)
    assert sorted(m["source"] for m in messages) == ["chorus-1", "chorus-2"]
    assert {m["log"] for m in messages} == {hello["log"], joined["log"]}

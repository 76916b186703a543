"""Exec over the stream API: a process in the container with its input from the socket, on the ASGI
server with a real worker and engine."""

import json
import urllib.parse

import pytest

from apps.accounts.models import ApiKey
from tests.streams import support
from tests.streams.support import open_stream, read_messages, stream_messages

from .helpers import wait_for_state
from .lifecycle_helpers import CLEAN_STOP_COMMAND, api_containers, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server


@pytest.fixture
def running(worker, api, user):
    """A running container's uuid, and the headers that open its streams."""
    service = create_service(api, image="local/busybox", name="box", run_command=CLEAN_STOP_COMMAND)
    wait_for_state(api, service["resource_uri"], "Running")
    (container,) = api_containers(api, service)
    _, key = ApiKey.issue(user)
    return container["uuid"], {"Authorization": f"ApiKey alice:{key}"}


def _output(messages, stream):
    return "".join(m["output"] for m in messages if m.get("streamType") == stream)


def test_exec_runs_a_command_and_ends_with_its_exit_code(running, asgi_server):
    address = asgi_server()
    uuid, auth = running
    messages = stream_messages(address, f"/v1/container/{uuid}/exec/?&command=echo+hello", auth)
    assert messages == [{"streamType": "stdout", "output": "hello\n"}, {"type": "exit", "exit_code": 0}]

    quoted = 'sh -c "echo to-stderr >&2; exit 4"'  # quoted as the CLI quotes an argument with spaces
    messages = stream_messages(address, f"/v1/container/{uuid}/exec/?command={urllib.parse.quote_plus(quoted)}", auth)
    assert _output(messages, "stderr") == "to-stderr\n"
    assert messages[-1] == {"type": "exit", "exit_code": 4}


def test_stdin_piped_to_sh_runs_a_script_until_the_end_of_input(running, asgi_server):
    address = asgi_server()
    uuid, auth = running
    with open_stream(address, f"/v1/container/{uuid}/exec/?", auth) as ws:  # no command: sh
        # What the final CLI sends when its stdin is not a terminal: all of it, then "\u0004", again each second.
        ws.send("x=41\necho answer $((x + 1))\necho done >&2\nexit 3\n")
        ws.send("\u0004")
        ws.send("")
        ws.send("\u0004")
        messages = read_messages(ws)
    assert _output(messages, "stdout") == "answer 42\n"
    assert _output(messages, "stderr") == "done\n"
    assert messages[-1] == {"type": "exit", "exit_code": 3}


def test_an_interactive_sh_reads_line_by_line(running, asgi_server):
    address = asgi_server()
    uuid, auth = running
    with open_stream(address, f"/v1/container/{uuid}/exec/?command=sh", auth) as ws:
        ws.send("echo first\n")
        assert read_messages(ws, until=lambda m: len(m) == 1) == [{"streamType": "stdout", "output": "first\n"}]
        for key in "echo second":  # a terminal in raw mode: one key a frame, Enter as "\r"
            ws.send(key)
        ws.send("\r")
        assert json.loads(ws.recv(timeout=10)) == {"streamType": "stdout", "output": "second\n"}
        ws.send("\u0004")
        assert read_messages(ws) == [{"type": "exit", "exit_code": 0}]


def test_logs_and_exec_reach_a_container_on_another_node(worker, api, user, asgi_server, second_engine):
    """The streams go to the container's own node (a second dockerd here), never to the local engine."""
    service = create_service(
        api, image="local/busybox", name="remote", run_command="sh -c 'echo from-$HOSTNAME; sleep 3600'"
    )
    wait_for_state(api, service["resource_uri"], "Running", timeout=90)
    (container,) = api_containers(api, service)
    assert container["node"].rstrip("/").endswith(str(second_engine.node.uuid))
    _, key = ApiKey.issue(user)
    auth = {"Authorization": f"ApiKey alice:{key}"}
    address = asgi_server()

    hostname = _output(
        stream_messages(address, f"/v1/container/{container['uuid']}/exec/?command=hostname", auth), "stdout"
    )
    logs = stream_messages(address, f"/v1/container/{container['uuid']}/logs/?follow=false", auth)
    assert [m["log"] for m in logs] == [f"from-{hostname}"]

"""The final CLI (`tutum` 0.21.1 on Python 2.7, unmodified) reads logs and runs commands through the stream
API of the ASGI server, with a real worker and engine."""

import json

import pytest

from apps.accounts.models import ApiKey
from tests.streams import support

from .final_clients import final_clients  # noqa: F401 (a fixture)
from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import api_containers, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server


def test_cli_container_logs_service_logs_and_exec(worker, api, user, asgi_server, final_clients, tmp_path):  # noqa: F811
    address = asgi_server()
    service = create_service(
        api,
        image="local/busybox",
        name="cliweb",
        run_command="sh -c 'echo hello-from-cli; echo warn-from-cli >&2; sleep 3600'",
    )
    wait_for_state(api, service["resource_uri"], "Running")
    (container,) = api_containers(api, service)
    _, key = ApiKey.issue(user)
    cli = final_clients.cli(f"http://{address}", "alice", key, home=tmp_path / "home")
    assert cli.env["TUTUM_STREAM_HOST"] == f"ws://{address}"

    def container_logs():
        result = cli("container", "logs", container["uuid"], timeout=60)
        return result if result.stdout == "hello-from-cli\n" else None

    # Without -f the server closes after the tail, and the CLI exits.
    logs = wait_for(container_logs, timeout=20, message="the container's line through `tutum container logs`")
    assert logs.returncode == 0 and logs.stderr == "warn-from-cli\n", logs.describe()

    logs = cli("service", "logs", service["uuid"], timeout=60)
    assert logs.returncode == 0, logs.describe()
    assert logs.stdout == "cliweb-1 | hello-from-cli\n" and logs.stderr == "cliweb-1 | warn-from-cli\n"

    result = cli("exec", container["uuid"], "echo", "hello", timeout=60)
    assert (result.returncode, result.stdout) == (0, "hello\n"), result.describe()

    result = cli("exec", container["uuid"], "sh", input="echo piped-$((6 * 7))\n", timeout=60)
    assert (result.returncode, result.stdout) == (0, "piped-42\n"), result.describe()

    result = cli("exec", container["uuid"], "sh", "-c", "echo two words >&2", timeout=60)
    assert (result.returncode, result.stderr) == (0, "two words\n"), result.describe()


EVENTS_SCRIPT = """
import json, os, sys
import tutum

events = tutum.TutumEvents()

def opened():
    print("open")
    sys.stdout.flush()

def received(event):
    print(json.dumps(event))
    sys.stdout.flush()
    os._exit(0)

events.on_open(opened)
events.on_message(received)
events.run_forever()
"""


def test_sdk_events_receive_a_change_and_stop_on_a_wrong_key(asgi_server, user, final_clients, tmp_path):  # noqa: F811
    import subprocess

    from tests.api.app_support import make_application

    address = asgi_server()
    _, key = ApiKey.issue(user)
    cli = final_clients.cli(f"http://{address}", "alice", key, home=tmp_path / "home")
    sdk = subprocess.Popen(
        [final_clients.python_sdk, "-c", EVENTS_SCRIPT], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert sdk.stdout.readline() == b"open\n"  # connected (the SDK drops {"type": "auth"})
        service = make_application(user, "evented", containers=0)
        out, err = sdk.communicate(timeout=60)
        event = json.loads(out)
        assert (event["type"], event["action"], event["resource_uri"]) == (
            "service",
            "create",
            f"/api/v1/service/{service.uuid}/",
        ), err
    finally:
        if sdk.poll() is None:
            sdk.kill()
            sdk.wait()

    # A wrong key: the SDK raises TutumAuthError and stops reconnecting. (Its Python 2.7 process then lingers
    # on at exit, whatever the server does, so it is ended here once it has said so.)
    env = {**cli.env, "TUTUM_APIKEY": "0" * 40}
    sdk = subprocess.Popen([final_clients.python_sdk, "-c", EVENTS_SCRIPT], env=env, stderr=subprocess.PIPE)
    try:
        lines = iter(sdk.stderr.readline, b"")
        said = next((line for line in lines if line.startswith(b"tutum.api.exceptions.")), b"")
        assert said.strip() == b"tutum.api.exceptions.TutumAuthError: Not authorized"
    finally:
        sdk.kill()
        sdk.wait()

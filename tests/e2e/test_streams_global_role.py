"""The final SDK's `TutumEvents` as a container of role `global` runs it: with nothing but the container's
`TUTUM_*` variables (TUTUM_AUTH, TUTUM_REST_HOST, TUTUM_STREAM_HOST, read with `docker inspect`), it hears of
the scale of the service it links to.

The SDK runs as a process beside the container (the image carries no Python 2.7); only the host part of the
two URLs is rewritten, because the worker tells containers the server's configured address and this test's
server listens on a port of its own."""

import json
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.streams import support

from .final_clients import final_clients  # noqa: F401 (a fixture)
from .helpers import wait_for_state
from .lifecycle_helpers import api_containers, docker_env, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server

EVENTS_SCRIPT = """
import json, os, sys
import tutum

target = sys.argv[1]
events = tutum.TutumEvents()

def opened():
    print("open")
    sys.stdout.flush()

def received(event):
    if event.get("resource_uri") == target:
        print(json.dumps(event))
        sys.stdout.flush()
        if event.get("state") == "Scaling":
            os._exit(0)

events.on_open(opened)
events.on_message(received)
events.run_forever()
"""


def _run(api, body) -> dict:
    response = api.post("/api/v1/service/", {"target_num_containers": 1, **body}, format="json")
    assert response.status_code == 201, response.content
    service = response.json()
    assert api.post(f"{service['resource_uri']}start/").status_code == 202
    return wait_for_state(api, service["resource_uri"], "Running", timeout=90)


def _at(url: str, address: str) -> str:
    """`url` with its host and port replaced by `address`."""
    return urlunsplit(urlsplit(url)._replace(netloc=address))


def test_sdk_events_with_a_global_containers_variables_hear_a_linked_service_scale(
    worker,
    docker_client,
    api,
    asgi_server,
    final_clients,  # noqa: F811
    tmp_path,
):
    address = asgi_server()
    db = _run(api, {"image": "local/busybox", "name": "db", "run_command": "sleep 3600"})
    watcher = _run(
        api,
        {
            "image": "local/busybox",
            "name": "watcher",
            "run_command": "sleep 3600",
            "roles": ["global"],
            "linked_to_service": [{"to_service": db["resource_uri"], "name": "db"}],
        },
    )
    (container,) = api_containers(api, watcher)
    assert container["roles"] == ["global"]
    variables = docker_env(docker_client.containers.get(docker_name(container["unique_name"])))
    tutum = {key: value for key, value in variables.items() if key.startswith("TUTUM_")}
    assert tutum["TUTUM_AUTH"].startswith("ApiKey alice:")
    tutum["TUTUM_REST_HOST"] = _at(tutum["TUTUM_REST_HOST"], address)
    tutum["TUTUM_STREAM_HOST"] = _at(tutum["TUTUM_STREAM_HOST"], address)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", **tutum}

    sdk = subprocess.Popen(
        [final_clients.python_sdk, "-c", EVENTS_SCRIPT, db["resource_uri"]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert sdk.stdout.readline() == b"open\n", "connected with the container's TUTUM_AUTH"
        assert api.patch(db["resource_uri"], {"target_num_containers": 2}, format="json").status_code < 300
        assert api.post(f"{db['resource_uri']}scale/").status_code == 202
        out, err = sdk.communicate(timeout=60)
        events = [json.loads(line) for line in out.decode().splitlines()]
        assert sdk.returncode == 0, err
        assert events[-1]["type"] == "service" and events[-1]["action"] == "update", events
        assert events[-1]["state"] == "Scaling"
    finally:
        if sdk.poll() is None:
            sdk.kill()
            sdk.wait()
    wait_for_state(api, db["resource_uri"], "Running", timeout=90)

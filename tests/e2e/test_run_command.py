"""The README's first command, `scripts/run`, as a user runs it: the embedded default (SQLite and the filesystem
broker in a data directory of its own) against the test Docker engine. It must print the line the official
clients read, and the key in it must start, list and terminate real containers.

The rest of the suite runs on Postgres; this is what proves the SQLite side of the queries (e.g. the ports a
list reads in its page query)."""

import os
import re
import signal
import subprocess

import docker
import pytest
import requests
from django.conf import settings

from orchestrator.driver.base import LABEL_INSTANCE

from .conftest import ROOT
from .helpers import free_port, wait_for

pytestmark = pytest.mark.e2e

# Not the suite's own instance: the e2e worker must not take these containers for its own.
INSTANCE = f"{settings.TUTUM_INSTANCE}-run"
EXPORT_LINE = re.compile(r"^export TUTUM_BASE_URL=(\S+) TUTUM_USER=(\S+) TUTUM_APIKEY=(\S+)$", re.MULTILINE)


def _our_containers(client) -> list[dict]:
    # The low-level listing: containers.list() inspects each one, which fails for one removed meanwhile.
    return client.api.containers(all=True, filters={"label": f"{LABEL_INSTANCE}={INSTANCE}"})


@pytest.fixture
def run_command(tmp_path):
    client = docker.DockerClient(base_url=settings.DOCKER_HOST)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "CELERY_BROKER_URL", "TUTUM_CACHE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(TUTUM_DATA_DIR=str(tmp_path / "var"), TUTUM_PORT=str(free_port()), TUTUM_INSTANCE=INSTANCE)
    # Cached list pages then outlive the test: only the SQLite triggers can make a list show a change.
    env.update(TUTUM_LIST_CACHE_SECONDS="3600")
    output = tmp_path / "run.out"
    with open(output, "w") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        match = wait_for(lambda: EXPORT_LINE.search(output.read_text()), timeout=120, message="the export line")
        base_url, user, key = match.groups()
        session = requests.Session()
        session.headers["Authorization"] = f"ApiKey {user}:{key}"
        wait_for(lambda: _answers(session, base_url), timeout=30, message="the API to answer")
        yield base_url, session, client
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for container in _our_containers(client):
            try:
                client.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                pass  # removed by the server meanwhile
        print(output.read_text())


def _answers(session, base_url) -> bool:
    try:
        return session.get(f"{base_url}application/", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_run_command_serves_the_official_clients_on_sqlite(run_command):
    base_url, api, client = run_command
    created = api.post(
        f"{base_url}application/",
        json={
            "image": "local/busybox",
            "run_command": "sleep 3600",
            "name": "web",
            "target_num_containers": 2,
            "container_ports": [{"protocol": "tcp", "inner_port": 80}, {"protocol": "udp", "inner_port": 53}],
        },
        timeout=10,
    )
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]

    def running_in_list():
        objects = api.get(f"{base_url}application/", params={"state": "Running"}, timeout=5).json()["objects"]
        return objects[0] if objects and objects[0]["running_num_containers"] == 2 else None

    listed = wait_for(running_in_list, timeout=60, message="the application Running with 2 containers")
    assert listed["uuid"] == uuid
    assert [(p["inner_port"], p["protocol"]) for p in listed["container_ports"]] == [(80, "tcp"), (53, "udp")]
    assert listed["current_num_containers"] == 2 and listed["stopped_num_containers"] == 0

    containers = api.get(f"{base_url}container/", params={"application__uuid": uuid}, timeout=5).json()
    assert containers["meta"]["total_count"] == 2
    for container in containers["objects"]:
        assert container["state"] == "Running"
        ports = {(p["inner_port"], p["protocol"]): p["outer_port"] for p in container["container_ports"]}
        assert set(ports) == {(80, "tcp"), (53, "udp")}
        assert all(isinstance(outer, int) for outer in ports.values()), ports
    running = [c for c in _our_containers(client) if c["State"] == "running"]
    assert len(running) == 2

    assert api.delete(f"{base_url}application/{uuid}/", timeout=10).status_code == 202
    wait_for(lambda: not _our_containers(client), timeout=60, message="no container left")
    assert api.get(f"{base_url}application/{uuid}/", timeout=5).json()["state"] == "Terminated"
    listed = api.get(f"{base_url}application/", timeout=5).json()["objects"]
    assert [(a["uuid"], a["state"], a["current_num_containers"]) for a in listed] == [(uuid, "Terminated", 0)]
    containers = api.get(f"{base_url}container/", params={"application__uuid": uuid}, timeout=5).json()["objects"]
    assert [c["state"] for c in containers] == ["Terminated", "Terminated"]

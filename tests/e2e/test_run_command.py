"""The README's first command, `scripts/run`, as a user runs it: the embedded default (SQLite and the filesystem
broker in a data directory of its own) against the test Docker engine. It must print the line the official
clients read, and the key in it must start, list and terminate real containers.

The rest of the suite runs on Postgres; this is what proves the SQLite side of the queries (e.g. the ports a
list reads in its page query). It also proves that the run keeps itself up: a process that dies is started
again, and SIGTERM stops every process it started."""

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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
# The final (2015) clients read the host alone.
EXPORT_LINE_2015 = re.compile(
    r"^export TUTUM_REST_HOST=(\S+) TUTUM_STREAM_HOST=(\S+) TUTUM_USER=(\S+) TUTUM_APIKEY=(\S+)$", re.MULTILINE
)
WORKER_RESTARTED = re.compile(r"^\[run\] worker exited with status \d+.*; restarting in \d+ s$", re.MULTILINE)


@dataclass
class Run:
    """A running `scripts/run`: its API, a session with the key it printed, and the process (a session and
    process group of its own)."""

    base_url: str
    api: requests.Session
    client: docker.DockerClient
    process: subprocess.Popen
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


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
        yield Run(base_url, session, client, process, output)
    finally:
        _signal_group(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process.pid, signal.SIGKILL)  # whatever outlived it
        process.wait()
        for container in _our_containers(client):
            try:
                client.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                pass  # removed by the server meanwhile
        print(output.read_text())


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # nobody left in the group


def _processes_of_session(sid: int) -> dict[int, list[str]]:
    """The command lines of the live processes in session `sid` (start_new_session made the run's pid its
    session and process group id), by pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        # The fields after the parenthesised command name: state, ppid, pgrp, session, ...
        state, _ppid, _pgrp, session = stat.rpartition(")")[2].split()[:4]
        if int(session) == sid and state != "Z":
            found[int(entry)] = [arg.decode(errors="replace") for arg in cmdline.split(b"\0") if arg]
    return found


def _worker_pids(run: Run) -> list[int]:
    """The Celery worker among the run's processes: `python .venv/bin/celery -A tutumserver worker ...`."""
    return [
        pid
        for pid, argv in _processes_of_session(run.process.pid).items()
        if pid != run.process.pid and any(Path(arg).name == "celery" for arg in argv[:2]) and "worker" in argv
    ]


def _answers(session, base_url) -> bool:
    try:
        return session.get(f"{base_url}application/", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_run_command_serves_the_official_clients_on_sqlite(run_command):
    base_url, api, client = run_command.base_url, run_command.api, run_command.client
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
    # Docker is empty a moment before the step that removed the last container records it.
    wait_for(
        lambda: api.get(f"{base_url}application/{uuid}/", timeout=5).json()["state"] == "Terminated",
        timeout=30,
        message="the application Terminated",
    )
    listed = api.get(f"{base_url}application/", timeout=5).json()["objects"]
    assert [(a["uuid"], a["state"], a["current_num_containers"]) for a in listed] == [(uuid, "Terminated", 0)]
    containers = api.get(f"{base_url}container/", params={"application__uuid": uuid}, timeout=5).json()["objects"]
    assert [c["state"] for c in containers] == ["Terminated", "Terminated"]


def test_the_run_command_restarts_a_dead_worker_and_stops_everything_on_sigterm(run_command):
    run, base_url, api = run_command, run_command.base_url, run_command.api
    _, user, key = EXPORT_LINE.search(run.text()).groups()
    rest_host = base_url.removesuffix("/api/v1/")
    assert EXPORT_LINE_2015.search(run.text()).groups() == (rest_host, "ws" + rest_host.removeprefix("http"), user, key)

    [worker] = wait_for(lambda: _worker_pids(run), timeout=30, message="the run's Celery worker")
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: WORKER_RESTARTED.search(run.text()), timeout=15, message="the line saying the worker restarts")
    [restarted] = wait_for(lambda: _worker_pids(run), timeout=30, message="a new Celery worker")
    assert restarted != worker

    # The restarted worker does the work: the application reaches Running with both containers.
    created = api.post(
        f"{base_url}application/",
        json={"image": "local/busybox", "run_command": "sleep 3600", "name": "after", "target_num_containers": 2},
        timeout=10,
    )
    assert created.status_code == 202, created.text
    uri = f"{base_url}application/{created.json()['uuid']}/"

    def running():
        body = api.get(uri, timeout=5).json()
        return body if body["state"] == "Running" and body["running_num_containers"] == 2 else None

    wait_for(running, timeout=90, message="the application Running with 2 containers")
    assert len([c for c in _our_containers(run.client) if c["State"] == "running"]) == 2

    # SIGTERM to the run alone (not its group): it stops what it started, promptly, and leaves nothing behind.
    children = set(_processes_of_session(run.process.pid)) - {run.process.pid}
    assert len(children) >= 4, _processes_of_session(run.process.pid)
    started = time.monotonic()
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(timeout=30)
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 5  # a process killed at the end may take a moment to be gone
    while _processes_of_session(run.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_of_session(run.process.pid) == {}

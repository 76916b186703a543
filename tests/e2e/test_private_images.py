"""Private images end to end: the registry of scripts/services.sh, a real worker, and two Docker engines.

The second engine is a separate dockerd (tests/e2e/engines.py) registered as a second Node: it has never
held any image, so a container there proves the pull with the stored credentials. To place containers
deterministically the worker is stopped while the rows are assigned to nodes (the scheduler itself is not
what is tested here).
"""

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import docker
import pytest
from django.conf import settings
from django.db import connection

from apps.containers.models import Container
from apps.images.models import Image
from apps.nodes.models import Node
from orchestrator.driver.base import LABEL_INSTANCE
from tests.images_support import (
    IMAGE_KEYS,
    PASSWORD_1,
    PASSWORD_2,
    TAG_IMAGE_KEYS,
    TAG_KEYS,
    USER_1,
    USER_2,
    assert_no_secret,
    push_private_image,
    remove_image,
)

from .helpers import wait_for, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NODE2 = f"{settings.TUTUM_INSTANCE}-node2"
NODE2_SOCKET = f"unix:///var/run/docker-{NODE2}.sock"
NODE2_BRIDGE = f"br-{settings.TUTUM_INSTANCE}n2"[:15]


@pytest.fixture(scope="module")
def node2_engine(tmp_path_factory):
    """A second, empty Docker engine with its own bridge and no iptables rules (it must not touch the first)."""
    data_root, exec_root = Path(f"/var/lib/docker-{NODE2}"), Path(f"/var/run/docker-{NODE2}")
    pidfile = Path(f"/var/run/docker-{NODE2}.pid")
    _stop_leftover(pidfile)
    subprocess.run(["ip", "link", "add", NODE2_BRIDGE, "type", "bridge"], capture_output=True)
    subprocess.run(["ip", "addr", "add", "172.31.47.1/24", "dev", NODE2_BRIDGE], capture_output=True)
    subprocess.run(["ip", "link", "set", NODE2_BRIDGE, "up"], check=True)
    log = open(tmp_path_factory.mktemp("node2") / "dockerd.log", "w")
    proc = subprocess.Popen(
        ["dockerd", "-H", NODE2_SOCKET, "--data-root", str(data_root), "--exec-root", str(exec_root)]
        + ["--pidfile", str(pidfile), "--bridge", NODE2_BRIDGE, "--iptables=false", f"--label=tutum.node={NODE2}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = docker.DockerClient(base_url=NODE2_SOCKET, version="1.41")  # no version probe before it listens
    try:
        wait_for(lambda: proc.poll() is None and _answers(client), timeout=30, message="the second dockerd")
        yield client
    finally:
        _stop_engine(client, proc, data_root, exec_root)


def _stop_leftover(pidfile: Path) -> None:
    """A dockerd of ours left by an interrupted run (same pidfile): stop it by its pid."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 15)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, message="the leftover dockerd to stop")


def _stop_engine(client, proc, data_root: Path, exec_root: Path) -> None:
    if proc.poll() is None and _answers(client):
        labels = {"label": f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}"}
        for container in client.containers.list(all=True, filters=labels):
            container.remove(force=True)
    client.close()
    proc.terminate()
    proc.wait(timeout=30)
    shutil.rmtree(data_root, ignore_errors=True)
    shutil.rmtree(exec_root, ignore_errors=True)
    subprocess.run(["ip", "link", "del", NODE2_BRIDGE], capture_output=True)


def _answers(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


@pytest.fixture(scope="module")
def repository(docker_client):
    return push_private_image(docker_client)


@pytest.fixture
def engines(docker_client, node2_engine, repository):
    """Both engines without the private image, so each container's start has to pull it."""
    for client in (docker_client, node2_engine):
        remove_image(client, f"{repository}:latest")
        assert not client.images.list(name=repository)
    return docker_client, node2_engine


def _nodes():
    from orchestrator.scheduler import ensure_default_node

    default = ensure_default_node()
    node2, _ = Node.objects.get_or_create(docker_host=NODE2_SOCKET, defaults={"name": NODE2})
    return default, node2


def _http_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read().decode()


def test_private_image_deploys_on_engines_that_lack_it(worker, api, engines, repository, caplog):
    default_engine, node2_engine = engines
    added = api.post("/api/v1/image/", {"name": repository, "username": USER_1, "password": PASSWORD_1}, format="json")
    assert added.status_code == 202, added.content

    # The worker pulls the image with the stored credentials and records what inspecting it showed.
    uri = f"/api/v1/image/{repository}/"
    detail = wait_for(lambda: (b := api.get(uri).json())["imagetag_set"] and b, timeout=60, message="tag details")
    assert set(detail) == IMAGE_KEYS
    [tag] = detail["imagetag_set"]
    assert set(tag) == TAG_KEYS and set(tag["image"]) == TAG_IMAGE_KEYS
    assert tag["image"]["imageport_set"] == [{"port": 80, "protocol": "tcp"}]
    assert tag["image"]["run_command"] == "/bin/httpd -f -p 80 -h /www"
    for client in (default_engine, node2_engine):  # start again from engines without it
        remove_image(client, f"{repository}:latest")

    # The password changes (another account of the registry); the new one is what the pulls below use.
    changed = api.patch(uri, {"username": USER_2, "password": PASSWORD_2}, format="json")
    assert changed.status_code == 202, changed.content
    assert api.patch(uri, {"password": "wrong-password"}, format="json").status_code == 400
    stored = Image.objects.get(name=repository, is_private_image=True)
    assert (stored.registry_username, stored.password()) == (USER_2, PASSWORD_2)

    default, node2 = _nodes()
    worker.kill()
    try:
        created = api.post(
            "/api/v1/application/",
            {"image": f"{repository}:latest", "name": "priv", "target_num_containers": 2},
            format="json",
        )
        assert created.status_code == 202, created.content
        app = created.json()
        first, second = Container.objects.filter(service__uuid=app["uuid"]).order_by("number")
        Container.objects.filter(pk=first.pk).update(node=node2)
        Container.objects.filter(pk=second.pk).update(node=default)
    finally:
        worker.start()

    app = wait_for_state(api, app["resource_uri"], "Running", timeout=90)
    # No ports, command or entrypoint were given: they come from the private image.
    assert [(p["inner_port"], p["protocol"]) for p in app["container_ports"]] == [(80, "tcp")]
    assert app["run_command"] == "/bin/httpd -f -p 80 -h /www"
    assert api.get(app["image_tag"]).json()["full_name"] == f"{repository}:latest"
    for container_uri in app["containers"]:
        container = api.get(container_uri).json()
        [port] = container["container_ports"]
        assert "hello from tutumserver" in _http_get(port["outer_port"])
    for client in (default_engine, node2_engine):
        assert client.images.list(name=repository), "the engine pulled the private image"
    assert node2_engine.containers.list(filters={"label": f"tutum.service={app['uuid']}"})

    _assert_password_nowhere(worker, caplog, [added, changed, api.get(uri), api.get(app["resource_uri"])])

    # Delete: refused while the application lives, then removes the image from the account only.
    refused = api.delete(uri)
    assert refused.status_code == 400 and "priv" in refused.json()["error"]
    assert api.delete(app["resource_uri"]).status_code == 202
    wait_for_state(api, app["resource_uri"], "Terminated", timeout=60)
    assert api.delete(uri).status_code == 204
    assert not Image.objects.filter(name=repository, is_private_image=True).exists()
    assert api.get("/api/v1/image/?is_private_image=True").json()["objects"] == []
    # What remains is the shared record of what was pulled for the (terminated) application, no credentials.
    assert api.get(uri).json()["is_private_image"] is False
    assert node2_engine.images.list(name=repository), "deleting from the account leaves the nodes alone"


def test_private_image_without_credentials_fails_with_registry_reason(worker, other_api, engines, repository):
    created = other_api.post("/api/v1/application/", {"image": repository, "name": "nocreds"}, format="json")
    assert created.status_code == 202, created.content
    app = wait_for_state(other_api, created.json()["resource_uri"], "Start failed", timeout=60)
    [container_uri] = app["containers"]
    container = other_api.get(container_uri).json()
    assert container["state"] == "Start failed"
    assert repository in container["exit_code_msg"]
    assert "no basic auth credentials" in container["exit_code_msg"] or "unauthorized" in container["exit_code_msg"]


def _assert_password_nowhere(worker, caplog, responses):
    for response in responses:
        assert_no_secret(response.content.decode(), "an API answer")
    assert_no_secret(caplog.text, "the test process log")
    time.sleep(0.5)
    for path in worker.log_dir.iterdir():
        if path.is_file():
            assert_no_secret(path.read_text(errors="replace"), f"worker log {path.name}")
    db = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]],
        env={**os.environ, "PGPASSWORD": db["PASSWORD"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "images_image" in dump and USER_2 in dump
    assert_no_secret(dump, "the database dump")

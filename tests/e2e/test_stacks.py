"""Stacks against the real worker and Docker engine: a linked stack starts in link order and runs, an
update replaces only the changed service's containers at the redeploy, terminate leaves no container, and a
redeploy keeps a volume's file only with reuse_volumes."""

import pytest

from orchestrator.driver.base import LABEL_SERVICE

from .helpers import wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIST = "/api/v1/stack/"
# web links to api, api links to db: db starts first, then api (which gets db's link variables), then web.
FILE = [
    {"name": "db", "image": "local/httpd", "expose": ["80"], "environment": ["DB_USER=admin"]},
    {"name": "api", "image": "local/busybox", "command": "sleep 3600", "links": ["db:database"]},
    {"name": "web", "image": "local/httpd", "links": ["api"], "environment": {"COLOUR": "blue"}},
]


def _containers(docker_client, service_uuid) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={service_uuid}"})


def _services(api, stack) -> dict[str, dict]:
    found = {}
    for uri in api.get(stack["resource_uri"]).json()["services"]:
        service = api.get(uri).json()
        found[service["name"]] = service
    return found


def _docker_ids(docker_client, services) -> dict[str, list[str]]:
    return {name: sorted(c.id for c in _containers(docker_client, s["uuid"])) for name, s in services.items()}


def _up(api, services, name):
    response = api.post(LIST, {"name": name, "services": services}, format="json")
    assert response.status_code == 201, response.content
    stack = response.json()
    assert stack["state"] == "Not Running"
    assert api.post(f"{stack['resource_uri']}start/").status_code == 202
    return wait_for_state(api, stack["resource_uri"], "Running", timeout=120)


def _terminate(api, docker_client, stack, services):
    response = api.delete(stack["resource_uri"])
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"
    wait_for_state(api, stack["resource_uri"], "Terminated", timeout=90)
    for service in services.values():
        assert _containers(docker_client, service["uuid"]) == []


def test_a_linked_stack_runs_updates_only_what_changed_and_terminates_clean(worker, docker_client, api):
    stack = _up(api, FILE, "shop")
    services = _services(api, stack)
    assert {s["state"] for s in services.values()} == {"Running"}
    # api was created after db ran: it has db's link variables at db's private address.
    (db_container,) = _containers(docker_client, services["db"]["uuid"])
    (api_container,) = _containers(docker_client, services["api"]["uuid"])
    env = dict(item.split("=", 1) for item in api_container.attrs["Config"]["Env"])
    address = db_container.attrs["NetworkSettings"]["IPAddress"]
    assert env.get("DATABASE_PORT_80_TCP_ADDR") == address, sorted(env)
    assert env["DATABASE_ENV_DB_USER"] == "admin"
    # ... and reaches db by the link's alias and by db's own names.
    for host in ("database", "db", "db-1"):
        reached = api_container.exec_run(["wget", "-q", "-O", "-", f"http://{host}:80/"])
        assert reached.exit_code == 0, (host, reached.output)
    before = _docker_ids(docker_client, services)

    # `tutum stack update`: web's environment changes, db and api are given as they were.
    changed = [FILE[0], FILE[1], {**FILE[2], "environment": {"COLOUR": "green"}}]
    response = api.patch(stack["resource_uri"], {"name": "shop", "services": changed}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["synchronized"] is False
    updated = _services(api, stack)
    assert [name for name, s in updated.items() if not s["synchronized"]] == ["web"]
    assert _docker_ids(docker_client, updated) == before  # nothing replaced before the redeploy

    response = api.post(f"{stack['resource_uri']}redeploy/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Redeploying"
    stack = wait_for_state(api, stack["resource_uri"], "Running", timeout=120)
    assert stack["synchronized"] is True
    after = _docker_ids(docker_client, updated)
    assert after["db"] == before["db"] and after["api"] == before["api"]
    assert after["web"] != before["web"]
    (web_container,) = _containers(docker_client, updated["web"]["uuid"])
    assert "COLOUR=green" in web_container.attrs["Config"]["Env"]

    exported = api.get(f"{stack['resource_uri']}export/").json()
    assert exported["web"]["environment"] == {"COLOUR": "green"}
    assert exported["api"]["links"] == ["db:database"]

    _terminate(api, docker_client, stack, updated)


@pytest.mark.parametrize("reuse, survives", [("True", True), ("False", False)])
def test_a_stack_redeploy_keeps_volume_data_only_with_reuse_volumes(worker, docker_client, api, reuse, survives):
    files = [{"name": "vol", "image": "local/busybox", "command": "sleep 3600", "volumes": ["/data"]}]
    stack = _up(api, files, f"volumes-{reuse.lower()}")
    services = _services(api, stack)
    (before,) = _containers(docker_client, services["vol"]["uuid"])
    assert before.exec_run(["sh", "-c", "echo kept > /data/file"]).exit_code == 0
    # A stack with nothing unsynchronized redeploys every service.
    response = api.post(f"{stack['resource_uri']}redeploy/?reuse_volumes={reuse}")
    assert response.status_code == 202, response.content
    stack = wait_for_state(api, stack["resource_uri"], "Running", timeout=120)
    (after,) = _containers(docker_client, services["vol"]["uuid"])
    assert after.id != before.id
    read = after.exec_run(["cat", "/data/file"])
    assert (read.exit_code == 0 and read.output.strip() == b"kept") is survives, read
    _terminate(api, docker_client, stack, services)

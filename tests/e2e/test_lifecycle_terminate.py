"""Terminating applications: Docker is emptied, the objects stay readable, lists forget them after the
retention period; a role `global` key lives exactly as long as its application."""

import time

import pytest

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import (
    api_containers,
    create_service,
    docker_containers,
    docker_env,
    docker_name,
    listed_container_uuids,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
RETENTION = 4


def _listed_application_uuids(api):
    return [a["uuid"] for a in api.get("/api/v1/application/", {"limit": 100}).json()["objects"]]


def test_terminate_empties_docker_and_leaves_lists_after_retention(worker, docker_client, api, settings):
    settings.TUTUM_TERMINATED_RETENTION_SECONDS = RETENTION
    service = create_service(api, image="local/httpd", name="doomed", target_num_containers=2)
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    containers = api_containers(api, service)
    assert len(docker_containers(docker_client, service["uuid"])) == 2

    response = api.delete(uri)
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"
    app = wait_for_state(api, uri, "Terminated")
    seen_terminated = time.monotonic()
    assert app["destroyed_datetime"] is not None
    assert app["current_num_containers"] == 0
    assert app["containers"] == []
    assert docker_containers(docker_client, service["uuid"]) == []
    for container in containers:
        body = api.get(container["resource_uri"]).json()
        assert body["state"] == "Terminated"
        assert body["destroyed_datetime"] is not None

    # Just terminated: still listed, with its containers.
    assert service["uuid"] in _listed_application_uuids(api)
    assert listed_container_uuids(api, service["uuid"]) == sorted(c["uuid"] for c in containers)

    wait_for(
        lambda: service["uuid"] not in _listed_application_uuids(api),
        timeout=RETENTION + 10,
        message="the terminated application to leave the list",
    )
    assert time.monotonic() - seen_terminated >= RETENTION - 1
    assert listed_container_uuids(api, service["uuid"]) == []
    # Out of the lists, still readable by uuid.
    assert api.get(uri).status_code == 200
    assert api.get(uri).json()["state"] == "Terminated"
    assert api.get(containers[0]["resource_uri"]).json()["state"] == "Terminated"


def test_role_global_key_works_until_the_application_terminates(worker, docker_client, api, make_client):
    service = create_service(api, image="local/busybox", name="globalrole", run_command="sleep 3600", roles=["global"])
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    env = docker_env(docker_client.containers.get(docker_name("globalrole-1")))
    auth = env["TUTUM_AUTH"]
    assert auth.startswith("ApiKey alice:")
    assert len(auth) > len("ApiKey alice:")

    (container,) = api_containers(api, service)
    assert container["roles"] == ["global"]
    assert "TUTUM_AUTH" not in {e["key"] for e in container["container_envvars"]}
    assert all("ApiKey" not in e["value"] for e in container["container_envvars"])

    inside = make_client()
    inside.credentials(HTTP_AUTHORIZATION=auth)
    response = inside.get(uri)
    assert response.status_code == 200, response.content
    assert response.json()["uuid"] == service["uuid"]

    assert api.delete(uri).status_code == 202
    wait_for_state(api, uri, "Terminated")
    response = inside.get(uri)
    assert response.status_code == 401, response.content
    assert "error" in response.json()
    assert api.get(uri).status_code == 200

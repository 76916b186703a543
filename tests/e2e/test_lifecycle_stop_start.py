"""Stopping and starting whole applications and single containers, and terminating one container."""

import docker
import pytest

from .helpers import wait_for_state
from .lifecycle_helpers import CLEAN_STOP_COMMAND, api_containers, create_service, docker_containers, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _docker_ids(docker_client, application_uuid):
    return {c.name: c.id for c in docker_containers(docker_client, application_uuid)}


def test_application_stop_then_start_keeps_the_docker_containers(worker, docker_client, api):
    service = create_service(
        api, image="local/busybox", name="pausable", target_num_containers=2, run_command=CLEAN_STOP_COMMAND
    )
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    ids_before = _docker_ids(docker_client, service["uuid"])
    assert len(ids_before) == 2

    response = api.post(f"{uri}stop/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Stopping"
    app = wait_for_state(api, uri, "Stopped")
    assert app["stopped_datetime"] is not None
    assert app["running_num_containers"] == 0
    assert app["stopped_num_containers"] == 2
    assert app["current_num_containers"] == 2
    for container in api_containers(api, service):
        assert container["state"] == "Stopped"
        assert container["exit_code"] == 0
        assert container["exit_code_msg"] == "Exit code 0 (Success)"
        assert container["stopped_datetime"] is not None
    for docker_container in docker_containers(docker_client, service["uuid"]):
        assert docker_container.status == "exited"
        assert docker_container.attrs["State"]["ExitCode"] == 0

    response = api.post(f"{uri}start/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    app = wait_for_state(api, uri, "Running")
    assert app["running_num_containers"] == 2
    assert all(c["state"] == "Running" for c in api_containers(api, service))
    assert _docker_ids(docker_client, service["uuid"]) == ids_before
    assert all(c.status == "running" for c in docker_containers(docker_client, service["uuid"]))


def test_container_stop_start_and_terminate(worker, docker_client, api):
    service = create_service(
        api, image="local/busybox", name="single", target_num_containers=2, run_command=CLEAN_STOP_COMMAND
    )
    app_uri = service["resource_uri"]
    wait_for_state(api, app_uri, "Running")
    first = next(c for c in api_containers(api, service) if c["unique_name"] == "single-1")
    uri = first["resource_uri"]
    docker_id = docker_client.containers.get(docker_name("single-1")).id

    response = api.post(f"{uri}stop/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Stopping"
    stopped = wait_for_state(api, uri, "Stopped")
    assert stopped["exit_code"] == 0
    assert docker_client.containers.get(docker_name("single-1")).status == "exited"
    assert docker_client.containers.get(docker_name("single-2")).status == "running"
    app = wait_for_state(api, app_uri, "Partly running")
    assert (app["running_num_containers"], app["stopped_num_containers"]) == (1, 1)

    response = api.post(f"{uri}start/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    wait_for_state(api, uri, "Running")
    again = docker_client.containers.get(docker_name("single-1"))
    assert again.id == docker_id
    assert again.status == "running"
    wait_for_state(api, app_uri, "Running")

    response = api.delete(uri)
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"
    gone = wait_for_state(api, uri, "Terminated")
    assert gone["destroyed_datetime"] is not None
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(docker_id)
    app = wait_for_state(api, app_uri, "Running")
    assert app["target_num_containers"] == 1
    assert app["current_num_containers"] == 1
    assert [c["unique_name"] for c in api_containers(api, service)] == ["single-2"]
    assert [c.name for c in docker_containers(docker_client, service["uuid"])] == [docker_name("single-2")]

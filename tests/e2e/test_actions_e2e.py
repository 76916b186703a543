"""Actions finished by the real controller: `Success` only once the work is done on the real Docker engine
(the containers running, the terminated ones gone), as `--sync` in the final CLI waits for it."""

import pytest

from .helpers import wait_for
from .lifecycle_helpers import SLEEPER, docker_containers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "X-Tutum-Action-URI"


def _finished(api, action_uri, timeout=90) -> tuple[dict, dict]:
    """Poll the action as `--sync` does until it ends; return it and its object as read right after."""

    def done():
        action = api.get(action_uri).json()
        if action["state"] in ("Success", "Failed"):
            return action, api.get(action["object"]).json()
        assert action["state"] == "In progress", action
        return None

    return wait_for(done, timeout=timeout, interval=0.1, message=f"{action_uri} to finish")


def test_a_2014_create_succeeds_once_two_containers_run_and_a_terminate_once_they_are_gone(worker, docker_client, api):
    response = api.post(
        "/api/v1/application/", {**SLEEPER, "name": "synced", "target_num_containers": 2}, format="json"
    )
    assert response.status_code == 202, response.content
    service = response.json()
    create_uri = response[HEADER]
    assert api.get(create_uri).json()["state"] == "In progress"

    action, seen = _finished(api, create_uri)
    assert action["state"] == "Success", action
    assert action["action"] == "Service Create"
    assert action["end_date"] is not None
    assert seen["state"] == "Running" and seen["running_num_containers"] == 2
    assert len(docker_containers(docker_client, service["uuid"], running_only=True)) == 2

    response = api.delete(f"/api/v1/application/{service['uuid']}/")
    assert response.status_code == 202, response.content
    terminate_uri = response[HEADER]
    action, seen = _finished(api, terminate_uri)
    assert (action["action"], action["state"]) == ("Service Terminate", "Success")
    assert seen["state"] == "Terminated"
    assert docker_containers(docker_client, service["uuid"]) == []


def test_a_2015_service_start_succeeds_once_its_containers_run(worker, docker_client, api):
    response = api.post("/api/v1/service/", {**SLEEPER, "name": "synced15", "target_num_containers": 2}, format="json")
    assert response.status_code == 201, response.content
    service = response.json()
    created = api.get(response[HEADER]).json()
    assert (created["action"], created["state"]) == ("Service Create", "Success")  # Not running: nothing to do

    response = api.post(f"{service['resource_uri']}start/")
    assert response.status_code == 202, response.content
    action, seen = _finished(api, response[HEADER])
    assert (action["action"], action["state"]) == ("Service Start", "Success")
    assert action["object"] == service["resource_uri"]
    assert seen["state"] == "Running" and seen["running_num_containers"] == 2
    assert len(docker_containers(docker_client, service["uuid"], running_only=True)) == 2

    # A container's own stop finishes when that container has stopped.
    container_uri = seen["containers"][0]
    response = api.post(f"{container_uri}stop/")
    assert response.status_code == 202, response.content
    action, container = _finished(api, response[HEADER])
    assert (action["action"], action["state"]) == ("Container Stop", "Success")
    assert container["state"] == "Stopped"

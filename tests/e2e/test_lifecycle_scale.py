"""Scaling an application up and down: Docker, the API's lists and the counts agree at every step."""

import docker
import pytest

from .helpers import wait_for_state
from .lifecycle_helpers import create_service, docker_containers, docker_name, listed_container_uuids

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _scale(api, service, target):
    response = api.patch(service["resource_uri"], {"target_num_containers": target}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "Scaling"
    assert body["target_num_containers"] == target
    return wait_for_state(api, service["resource_uri"], "Running")


def _assert_agrees(api, docker_client, service, expected_names):
    app = api.get(service["resource_uri"]).json()
    names = sorted(api.get(uri).json()["unique_name"] for uri in app["containers"])
    assert names == expected_names
    assert app["target_num_containers"] == len(expected_names)
    assert app["current_num_containers"] == len(expected_names)
    assert app["running_num_containers"] == len(expected_names)
    assert app["stopped_num_containers"] == 0

    in_docker = docker_containers(docker_client, app["uuid"])
    assert sorted(c.name for c in in_docker) == [docker_name(n) for n in expected_names]
    assert all(c.status == "running" for c in in_docker)

    running = listed_container_uuids(api, app["uuid"], state="Running")
    assert running == sorted(uri.rstrip("/").rsplit("/", 1)[1] for uri in app["containers"])
    return app


def test_scale_two_to_three_to_one(worker, docker_client, api):
    service = create_service(api, image="local/httpd", name="scaler", target_num_containers=2)
    wait_for_state(api, service["resource_uri"], "Running")
    _assert_agrees(api, docker_client, service, ["scaler-1", "scaler-2"])

    _scale(api, service, 3)
    app = _assert_agrees(api, docker_client, service, ["scaler-1", "scaler-2", "scaler-3"])
    by_name = {api.get(uri).json()["unique_name"]: api.get(uri).json()["uuid"] for uri in app["containers"]}

    _scale(api, service, 1)
    _assert_agrees(api, docker_client, service, ["scaler-1"])

    for name in ("scaler-2", "scaler-3"):
        retired = api.get(f"/api/v1/container/{by_name[name]}/")
        assert retired.status_code == 200
        body = retired.json()
        assert body["state"] == "Terminated"
        assert body["destroyed_datetime"] is not None
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(docker_name(name))
    # Within the retention period the retired containers are still listed, as Terminated.
    terminated = listed_container_uuids(api, service["uuid"], state="Terminated")
    assert terminated == sorted([by_name["scaler-2"], by_name["scaler-3"]])
    assert len(listed_container_uuids(api, service["uuid"])) == 3

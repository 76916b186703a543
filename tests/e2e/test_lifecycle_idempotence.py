"""Converging what already converged changes nothing."""

import pytest

from orchestrator import converge

from .helpers import wait_for_state
from .lifecycle_helpers import api_containers, create_service, docker_containers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_converging_a_running_container_twice_changes_nothing(worker, docker_client, api):
    service = create_service(api, image="local/httpd", name="steady", target_num_containers=1)
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    (container,) = api_containers(api, service)
    (docker_container,) = docker_containers(docker_client, service["uuid"])
    started_at = docker_container.attrs["State"]["StartedAt"]
    app_before = api.get(uri).json()

    for _ in range(2):
        assert converge.converge_container(container["uuid"]) == []
        assert converge.converge_service(service["uuid"]) == []

    (after,) = docker_containers(docker_client, service["uuid"])
    assert after.id == docker_container.id
    assert after.status == "running"
    assert after.attrs["State"]["StartedAt"] == started_at
    assert api.get(container["resource_uri"]).json() == container
    assert api.get(uri).json() == app_before

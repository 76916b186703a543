"""Redeploy: every container is replaced by a new Docker container, keeping its name and API identity."""

import pytest

from orchestrator.driver.base import LABEL_CONTAINER, LABEL_GENERATION

from .helpers import wait_for_state
from .lifecycle_helpers import api_containers, create_service, docker_containers, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_redeploy_replaces_docker_containers_and_keeps_names(worker, docker_client, api):
    service = create_service(api, image="local/httpd", name="phoenix", target_num_containers=2)
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    before = {c["unique_name"]: c["uuid"] for c in api_containers(api, service)}
    docker_before = {c.name: c.id for c in docker_containers(docker_client, service["uuid"])}
    assert sorted(docker_before) == [docker_name("phoenix-1"), docker_name("phoenix-2")]

    response = api.post(f"{uri}redeploy/", {"tag": None}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Redeploying"
    app = wait_for_state(api, uri, "Running")
    assert app["target_num_containers"] == 2
    assert app["running_num_containers"] == 2
    assert app["current_num_containers"] == 2

    after = {c["unique_name"]: c["uuid"] for c in api_containers(api, service)}
    assert after == before
    assert all(c["state"] == "Running" for c in api_containers(api, service))

    docker_after = {c.name: c for c in docker_containers(docker_client, service["uuid"])}
    assert sorted(docker_after) == sorted(docker_before)
    for name, container in docker_after.items():
        assert container.id != docker_before[name]
        assert container.status == "running"
        assert container.labels[LABEL_GENERATION] == "2"
        unique_name = next(n for n in before if docker_name(n) == name)
        assert container.labels[LABEL_CONTAINER] == before[unique_name]

"""Docker's refusals become recorded states, and the command and entrypoint given are the ones run."""

import pytest

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import api_containers, create_service, docker_containers, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_missing_image_ends_start_failed_with_a_message(worker, docker_client, api):
    service = create_service(
        api, image="local/does-not-exist", name="ghost", target_num_containers=2, container_ports=[{"inner_port": 80}]
    )
    uri = service["resource_uri"]
    app = wait_for_state(api, uri, "Start failed")
    assert app["running_num_containers"] == 0
    assert app["current_num_containers"] == 2
    containers = api_containers(api, service)
    assert len(containers) == 2
    for container in containers:
        assert container["state"] == "Start failed"
        message = container["exit_code_msg"]
        assert message.startswith("Cannot pull image local/does-not-exist:latest: "), message
        assert "registry" in message or "not found" in message or "denied" in message, message
        assert container["exit_code"] is None
    assert docker_containers(docker_client, service["uuid"]) == []
    for path in ("/api/v1/application/", "/api/v1/container/", f"{uri}logs/", f"{containers[0]['resource_uri']}"):
        assert api.get(path).status_code == 200

    # Starting again fails again the same way, still recorded, never a server error.
    response = api.post(f"{uri}start/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    wait_for_state(api, uri, "Start failed")


def test_entrypoint_and_run_command_override(worker, docker_client, api):
    service = create_service(
        api,
        image="local/busybox",
        name="override",
        entrypoint="/bin/sh -c",
        run_command="'echo override-works; sleep 3600'",
    )
    assert service["entrypoint"] == "/bin/sh -c"
    assert service["run_command"] == "'echo override-works; sleep 3600'"
    wait_for_state(api, service["resource_uri"], "Running")
    docker_container = docker_client.containers.get(docker_name("override-1"))
    config = docker_container.attrs["Config"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["Cmd"] == ["echo override-works; sleep 3600"]
    (container,) = api_containers(api, service)
    wait_for(
        lambda: "override-works" in api.get(f"{container['resource_uri']}logs/").json()["logs"],
        timeout=10,
        message="the overriding command's output",
    )

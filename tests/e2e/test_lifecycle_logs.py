"""Logs read from Docker through the API, per container and per application."""

import pytest

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import api_containers, create_service, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_container_and_application_logs(worker, docker_client, api):
    service = create_service(
        api,
        image="local/busybox",
        name="chatty",
        target_num_containers=2,
        run_command='sh -c "echo hello-from-$HOSTNAME; sleep 3600"',
    )
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    containers = api_containers(api, service)
    expected = {}
    for container in containers:
        hostname = docker_client.containers.get(docker_name(container["unique_name"])).attrs["Config"]["Hostname"]
        line = f"hello-from-{hostname}"
        expected[container["unique_name"]] = line

        def container_logs(uri=container["resource_uri"], line=line):
            response = api.get(f"{uri}logs/")
            assert response.status_code == 200, response.content
            return line in response.json()["logs"].splitlines()

        wait_for(container_logs, timeout=10, message=f"{line} in the logs of {container['unique_name']}")
    assert len(set(expected.values())) == 2

    response = api.get(f"{uri}logs/")
    assert response.status_code == 200, response.content
    lines = response.json()["logs"].splitlines()
    assert sorted(lines) == sorted(f"{name} | {line}" for name, line in expected.items())

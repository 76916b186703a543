"""Links between applications and between sibling containers, as variables inside the Docker containers."""

import pytest

from .helpers import wait_for_state
from .lifecycle_helpers import api_containers, create_service, docker_exec_env, docker_name

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _expected_link_variables(container):
    """The link variables that describe a container to those linked to it (`<NAME>_PORT`, and per port
    `_ADDR`, `_PORT`, `_PROTO`), computed from what the API shows of it."""
    (port,) = container["container_ports"]
    outer = port["outer_port"]
    assert outer is not None
    prefix = container["unique_name"].upper().replace("-", "_")
    dns = f"{container['unique_name']}-alice.localhost"
    assert container["public_dns"] == dns
    url = f"tcp://{dns}:{outer}"
    return {
        f"{prefix}_PORT": url,
        f"{prefix}_PORT_80_TCP": url,
        f"{prefix}_PORT_80_TCP_ADDR": dns,
        f"{prefix}_PORT_80_TCP_PORT": str(outer),
        f"{prefix}_PORT_80_TCP_PROTO": "tcp",
    }


def test_linked_application_gets_link_variables(worker, docker_client, api):
    server = create_service(api, image="local/httpd", name="linkweb", target_num_containers=1)
    wait_for_state(api, server["resource_uri"], "Running")
    (server_container,) = api_containers(api, server)
    expected = _expected_link_variables(server_container)

    client = create_service(
        api,
        image="local/busybox",
        name="linkclient",
        run_command="sleep 3600",
        linked_to_application=[server["resource_uri"]],
    )
    assert client["linked_to_application"] == [server["resource_uri"]]
    wait_for_state(api, client["resource_uri"], "Running")

    client_body = api.get(client["resource_uri"]).json()
    assert client_body["linked_to_application"] == [server["resource_uri"]]
    assert client_body["linked_from_application"] == []
    server_body = api.get(server["resource_uri"]).json()
    assert server_body["linked_from_application"] == [client["resource_uri"]]
    assert server_body["linked_to_application"] == []
    for key, value in expected.items():
        assert server_body["link_variables"][key] == value

    (client_container,) = api_containers(api, client)
    assert client_container["linked_to_application"] == [server["resource_uri"]]
    inside = docker_exec_env(docker_client.containers.get(docker_name("linkclient-1")))
    for key, value in expected.items():
        assert inside[key] == value
    recorded = {e["key"]: e["value"] for e in client_container["container_envvars"]}
    for key, value in expected.items():
        assert recorded[key] == value
    assert "TUTUM_AUTH" not in inside


def test_second_container_gets_the_first_ones_link_variables(worker, docker_client, api):
    service = create_service(api, image="local/httpd", name="sibling", target_num_containers=1)
    uri = service["resource_uri"]
    wait_for_state(api, uri, "Running")
    (first,) = api_containers(api, service)
    expected = _expected_link_variables(first)

    response = api.patch(uri, {"target_num_containers": 2}, format="json")
    assert response.status_code == 202, response.content
    wait_for_state(api, uri, "Running")
    second = next(c for c in api_containers(api, service) if c["unique_name"] == "sibling-2")
    assert second["state"] == "Running"

    recorded = {e["key"]: e["value"] for e in second["container_envvars"]}
    assert recorded == expected
    assert all(e["container"] == second["resource_uri"] for e in second["container_envvars"])
    inside = docker_exec_env(docker_client.containers.get(docker_name("sibling-2")))
    for key, value in expected.items():
        assert inside[key] == value
    # The second container's own variables describe itself, not its sibling.
    assert set(second["link_variables"]) == set(_expected_link_variables(second))

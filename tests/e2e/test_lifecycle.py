"""The whole application and container lifecycle, carried out by a real worker on a real Docker engine."""

import urllib.request

import pytest
from django.conf import settings

from orchestrator.driver.base import LABEL_CONTAINER, LABEL_GENERATION, LABEL_SERVICE

from .helpers import wait_for, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _docker_containers(docker_client, application_uuid):
    return docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={application_uuid}"})


def test_create_two_containers_running_in_api_and_docker(worker, docker_client, api):
    response = api.post(
        "/api/v1/application/",
        {
            "image": "local/httpd",
            "name": "web",
            "target_num_containers": 2,
            "container_size": "S",
            "container_envvars": [{"key": "GREETING", "value": "hello"}],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    app = response.json()
    assert app["state"] == "Starting"
    assert len(app["containers"]) == 2

    app = wait_for_state(api, app["resource_uri"], "Running")
    assert app["running_num_containers"] == 2
    assert app["container_ports"] == [
        {"application": app["resource_uri"], "inner_port": 80, "outer_port": None, "protocol": "tcp"}
    ]

    docker_containers = _docker_containers(docker_client, app["uuid"])
    prefix = settings.TUTUM_INSTANCE
    assert sorted(c.name for c in docker_containers) == [f"{prefix}-web-1-alice", f"{prefix}-web-2-alice"]
    for container_uri in app["containers"]:
        container = api.get(container_uri).json()
        assert container["state"] == "Running"
        docker_container = docker_client.containers.get(f"{prefix}-{container['unique_name']}-alice")
        attrs = docker_container.attrs
        env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
        assert env["GREETING"] == "hello"
        assert env["TUTUM_CONTAINER_API_URL"].endswith(container_uri)
        assert env["TUTUM_APPLICATION_API_URL"].endswith(app["resource_uri"])
        assert "TUTUM_AUTH" not in env
        assert attrs["HostConfig"]["Memory"] == 512 * 1024 * 1024
        assert attrs["HostConfig"]["CpuShares"] == 512
        labels = attrs["Config"]["Labels"]
        assert labels[LABEL_CONTAINER] == container["uuid"]
        assert labels[LABEL_GENERATION] == "1"

        (port,) = container["container_ports"]
        assert port["outer_port"] is not None
        binding = attrs["NetworkSettings"]["Ports"]["80/tcp"][0]
        assert binding["HostIp"] == "127.0.0.1"
        assert int(binding["HostPort"]) == port["outer_port"]
        url = f"http://127.0.0.1:{port['outer_port']}/"
        body = wait_for(lambda url=url: _http_get(url), timeout=10, message="httpd to answer")
        assert "hello from tutumserver" in body


def _http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None

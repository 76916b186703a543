"""The driver's view of an engine that is down: unreachable (retried later), never a crash."""

import pytest

from orchestrator.driver import NodeUnreachable
from orchestrator.driver.docker import DockerDriver, docker_driver


def test_an_engine_that_is_down_is_unreachable():
    with pytest.raises(NodeUnreachable, match="is unreachable"):
        DockerDriver("unix:///var/run/tutum-no-such-engine.sock")


def test_a_failed_connection_is_not_kept_for_later():
    for _ in range(2):
        with pytest.raises(NodeUnreachable):
            docker_driver("unix:///var/run/tutum-no-such-engine.sock")


def test_calls_about_different_containers_share_one_socket_pool():
    """docker-py would open a pool (and a socket) per URL; the driver's client keeps one pool per engine."""
    import os

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the engine is not on a unix socket")
    driver = DockerDriver(host)
    adapter = driver.api.get_adapter("http+docker://localhost/")
    first = adapter.get_connection("http+docker://localhost/v1.41/containers/aaa/json")
    second = adapter.get_connection("http+docker://localhost/v1.41/containers/bbb/start")
    assert first is second
    requests_before = first.num_requests
    assert driver.inspect("tutum-no-such-container") is None  # still answers, through that pool
    assert driver.inspect("tutum-no-such-container-either") is None
    assert first.num_requests == requests_before + 2

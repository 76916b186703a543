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

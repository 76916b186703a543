"""Converge steps against a fake driver: what a fresh container costs, and adoption of a container an
interrupted step already created (found by its Docker name, not by listing)."""

import pytest

from apps.containers.choices import ContainerState as CS
from apps.services.choices import ServiceState as AS
from orchestrator import converge
from orchestrator.driver import ContainerSpec, NameConflict
from orchestrator.driver.base import LABEL_CONTAINER, LABEL_GENERATION, ContainerInfo
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db


class FakeDriver:
    def __init__(self, existing=None):
        self.calls = []
        self.existing = existing or {}

    def inspect(self, ref):
        self.calls.append(("inspect", ref))
        return self.existing.get(ref)

    def list(self, labels):
        self.calls.append(("list", labels))
        return [info for info in self.existing.values() if info.labels.get(LABEL_CONTAINER) == labels[LABEL_CONTAINER]]

    def create(self, spec):
        self.calls.append(("create", spec.name))
        if spec.name in self.existing:
            raise NameConflict(f"The container name {spec.name} is already in use")
        return "new-id"

    def remove(self, ref):
        self.calls.append(("remove", ref))
        self.existing.pop(ref, None)


def _info(name, container, generation=None):
    labels = {LABEL_CONTAINER: str(container.uuid), LABEL_GENERATION: str(generation or container.generation)}
    return ContainerInfo(id=f"id-of-{name}", name=name, labels=labels, running=False, status="created", exit_code=None)


@pytest.fixture
def container(user):
    service = make_application(user, "steps", state=AS.STARTING, containers=1, container_state=CS.STARTING)
    return converge._load(str(service.containers.get().uuid))


def test_a_row_without_docker_id_is_not_looked_up(container):
    driver = FakeDriver()
    assert converge._find_existing(container, driver) is None
    assert driver.calls == []


def test_a_recorded_container_that_is_gone_is_searched_by_label(container):
    container.docker_id = "gone"
    driver = FakeDriver()
    assert converge._find_existing(container, driver) is None
    assert [call[0] for call in driver.calls] == ["inspect", "list"]


def test_a_container_an_interrupted_step_created_is_adopted_by_its_name(container):
    name = converge.docker_name(container)
    holder = _info(name, container)
    driver = FakeDriver({name: holder})
    spec = ContainerSpec(name=name, image="local/busybox", labels=holder.labels, env={})

    assert converge._create_or_adopt(container, spec, driver) == holder
    assert ("remove", holder.id) not in driver.calls


def test_a_stale_holder_of_the_name_is_removed_and_the_container_created(container):
    name = converge.docker_name(container)
    stale = _info(name, container, generation=container.generation + 7)
    driver = FakeDriver({name: stale})
    driver.remove = lambda ref: (driver.calls.append(("remove", ref)), driver.existing.pop(name, None))
    spec = ContainerSpec(name=name, image="local/busybox", labels={}, env={})

    assert converge._create_or_adopt(container, spec, driver) == "new-id"
    assert ("remove", stale.id) in driver.calls


def test_a_name_reserved_by_a_create_still_in_flight_is_waited_for_then_adopted(container, monkeypatch):
    """The engine answers "name in use" before the winner's container can be inspected."""
    name = converge.docker_name(container)
    holder = _info(name, container)
    driver = FakeDriver({name: holder})
    invisible_inspects = iter([None, None, None, None, holder])  # more than the tries that used to be made
    driver.inspect = lambda ref: (driver.calls.append(("inspect", ref)), next(invisible_inspects))[1]
    pauses = []
    monkeypatch.setattr(converge.time, "sleep", pauses.append)
    spec = ContainerSpec(name=name, image="local/busybox", labels=holder.labels, env={})

    assert converge._create_or_adopt(container, spec, driver) == holder
    assert pauses == [0.05, 0.1, 0.2, 0.4]
    assert ("remove", holder.id) not in driver.calls


def test_a_name_that_no_inspect_ever_shows_fails_the_step_after_the_wait(container, monkeypatch):
    name = converge.docker_name(container)
    driver = FakeDriver({name: _info(name, container)})
    driver.inspect = lambda ref: None
    clock = [0.0]
    monkeypatch.setattr(converge.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(converge.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    spec = ContainerSpec(name=name, image="local/busybox", labels={}, env={})

    with pytest.raises(converge.DriverError, match="stays taken"):
        converge._create_or_adopt(container, spec, driver)
    assert converge.NAME_IN_FLIGHT_WAIT_SECONDS <= clock[0] < converge.NAME_IN_FLIGHT_WAIT_SECONDS + 1.1

"""The plumbing under everything else: a real worker consumes tasks sent through Redis, and the driver
reaches the Docker engine."""

from threading import Barrier, Event, Thread

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.containers.models import Container
from apps.services.models import Service
from orchestrator import converge
from orchestrator.driver import ContainerSpec, driver_for
from orchestrator.driver.base import LABEL_CONTAINER, LABEL_GENERATION, LABEL_INSTANCE, LABEL_SERVICE
from orchestrator.scheduler import ensure_default_node
from tests.api.app_support import make_application
from tutumserver.celery import app as celery_app

from .helpers import wait_for, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _worker_log(worker) -> str:
    return (worker.log_dir / f"worker-{worker.starts}.log").read_text(errors="replace")


def _recorded_application(owner, name: str) -> Service:
    """An application written straight to the database: nothing wakes the controller for it."""
    return Service.objects.create(
        owner=owner,
        name=name,
        unique_name=name,
        image_repository="local/busybox",
        run_command="sleep 3600",
        target_num_containers=1,
        state="Starting",
    )


def _docker_containers(docker_client, application_uuid):
    return docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={application_uuid}"})


def test_driver_reaches_the_engine(docker_client):
    driver = driver_for(ensure_default_node())
    driver.ping()
    image = driver.inspect_image("local/busybox:latest")
    assert image is not None
    assert image.id == docker_client.images.get("local/busybox:latest").id.removeprefix("sha256:")
    assert image.command == ["/bin/sh"]
    httpd = driver.inspect_image("local/httpd:latest")
    assert [(p.inner_port, p.protocol) for p in httpd.ports] == [(80, "tcp")]
    assert httpd.env["SERVER"] == "busybox-httpd"
    assert driver.inspect_image(f"local/no-such-image-{settings.TUTUM_INSTANCE}:nope") is None


def test_worker_consumes_a_task_sent_through_redis(worker, docker_client, user, api):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    service = _recorded_application(user, "direct")
    assert not Container.objects.filter(service=service).exists()

    result = celery_app.send_task("orchestrator.converge_service", args=[str(service.uuid)])
    wait_for(
        lambda: f"orchestrator.converge_service[{result.id}] received" in _worker_log(worker),
        timeout=30,
        message=f"the worker to receive task {result.id}",
    )

    body = wait_for_state(api, f"/api/v1/application/{service.uuid}/", "Running")
    assert body["running_num_containers"] == 1
    (container,) = Container.objects.filter(service=service)
    assert container.state == "Running" and container.docker_id
    (docker_container,) = _docker_containers(docker_client, service.uuid)
    assert docker_container.id == container.docker_id
    assert docker_container.status == "running"
    assert docker_container.attrs["Config"]["Cmd"] == ["sleep", "3600"]
    labels = docker_container.labels
    assert labels[LABEL_INSTANCE] == settings.TUTUM_INSTANCE
    assert labels[LABEL_CONTAINER] == str(container.uuid)
    assert docker_container.name == f"{settings.TUTUM_INSTANCE}-direct-1-alice"


def test_sweep_sent_by_name_converges_forgotten_work(worker, docker_client, user, api):
    service = _recorded_application(user, "forgotten")
    # As if its message had been lost long ago: older than TUTUM_STUCK_AFTER_SECONDS of the worker.
    Service.objects.filter(pk=service.pk).update(modified=timezone.now() - timezone.timedelta(minutes=5))

    result = celery_app.send_task("orchestrator.sweep")
    wait_for(
        lambda: f"orchestrator.sweep[{result.id}] received" in _worker_log(worker),
        timeout=30,
        message=f"the worker to receive sweep {result.id}",
    )
    wait_for_state(api, f"/api/v1/application/{service.uuid}/", "Running")
    (docker_container,) = _docker_containers(docker_client, service.uuid)
    assert docker_container.status == "running"


def test_api_request_wakes_the_worker_from_create_to_terminate(worker, docker_client, api):
    response = api.post(
        "/api/v1/application/",
        {"image": "local/busybox", "name": "sleeper", "run_command": "sleep 3600", "target_num_containers": 1},
        format="json",
    )
    assert response.status_code == 202, response.content
    app = response.json()
    assert app["state"] == "Starting"

    app = wait_for_state(api, app["resource_uri"], "Running")
    assert app["running_num_containers"] == 1
    assert app["started_datetime"].endswith(" +0000")
    (docker_container,) = _docker_containers(docker_client, app["uuid"])
    assert docker_container.status == "running"
    assert docker_container.attrs["Config"]["Cmd"] == ["sleep", "3600"]

    response = api.delete(app["resource_uri"])
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"
    app = wait_for_state(api, app["resource_uri"], "Terminated")
    assert app["destroyed_datetime"] is not None
    wait_for(lambda: not _docker_containers(docker_client, app["uuid"]), timeout=30, message="the container gone")


def test_two_steps_creating_one_container_at_once_both_end_with_it(docker_client, user):
    """A redelivered message or the sweep can run a fresh row's step beside the first one. The engine reserves
    the name before the first create's container can be inspected; the second step must wait for it and
    adopt it, not give the container up as failed."""
    driver = driver_for(ensure_default_node())
    for attempt in range(8):
        service = make_application(user, f"race{attempt}", state="Starting", containers=1)
        container = converge._load(str(service.containers.get().uuid))
        labels = {
            **converge.instance_labels(),
            LABEL_CONTAINER: str(container.uuid),
            LABEL_GENERATION: str(container.generation),
        }
        spec = ContainerSpec(name=converge.docker_name(container), image="local/busybox", labels=labels, env={})

        results = _create_twice_at_once(container, spec, driver)

        ids = {result if isinstance(result, str) else getattr(result, "id", repr(result)) for result in results}
        assert len(ids) == 1, results
        on_engine = docker_client.containers.list(all=True, filters={"label": f"{LABEL_CONTAINER}={container.uuid}"})
        assert [c.id for c in on_engine] == list(ids)


def _create_twice_at_once(container, spec, driver) -> list:
    barrier, results = Barrier(2), []

    def step():
        barrier.wait()
        try:
            results.append(converge._create_or_adopt(container, spec, driver))
        except Exception as exc:  # the caller's assertion shows it
            results.append(exc)

    threads = [Thread(target=step) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_container_created_while_its_row_was_terminated_is_removed_by_its_step(docker_client, user, monkeypatch):
    """A terminate step that runs while another step's create is in flight sees no container to remove; the
    creating step then finds the row Terminated and removes what it made (no orphan left for the sweep)."""
    real = driver_for(ensure_default_node())
    in_create, go_on = Event(), Event()

    class HeldCreate:
        """The real driver; its create waits until the test has terminated the row."""

        def __getattr__(self, name):
            return getattr(real, name)

        def create(self, spec):
            in_create.set()
            assert go_on.wait(30)
            return real.create(spec)

    monkeypatch.setattr(converge, "driver_for", lambda node: HeldCreate())
    service = make_application(
        user, "late", state="Starting", containers=1, container_state="Starting", image="local/busybox"
    )
    Service.objects.filter(pk=service.pk).update(run_command="sleep 3600")
    row = service.containers.get()

    def start_step():
        try:
            converge.ensure_running(converge._load(str(row.uuid)))
        finally:
            connection.close()

    step = Thread(target=start_step)
    step.start()
    assert in_create.wait(30)
    Container.objects.filter(pk=row.pk).update(state="Terminating")
    assert converge.ensure_removed(converge._load(str(row.uuid)))
    go_on.set()
    step.join(60)

    assert Container.objects.get(pk=row.pk).state == "Terminated"
    assert docker_client.containers.list(all=True, filters={"label": f"{LABEL_CONTAINER}={row.uuid}"}) == []

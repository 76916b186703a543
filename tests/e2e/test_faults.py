"""Faults on real parts: a worker killed mid-work and a storm of concurrent scale requests end in exactly
the declared state. Measured convergence times are printed (pytest -s)."""

import random
import threading
import time

import pytest
import requests

from apps.containers.models import Container
from apps.services.models import Service
from orchestrator.driver.base import LABEL_CONTAINER, LABEL_SERVICE

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import SLEEPER, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def labelled(docker_client, application_uuid):
    # sparse: no inspect per container, which would race with containers being removed.
    return docker_client.containers.list(
        all=True, sparse=True, filters={"label": f"{LABEL_SERVICE}={application_uuid}"}
    )


def assert_exactly(api, docker_client, app_uri, count):
    body = api.get(app_uri).json()
    assert body["state"] == "Running"
    assert body["target_num_containers"] == count
    assert body["running_num_containers"] == count
    assert len(body["containers"]) == count
    docker_containers = labelled(docker_client, body["uuid"])
    assert len(docker_containers) == count, [c.attrs["Names"] for c in docker_containers]
    assert all(c.status == "running" for c in docker_containers)
    owners = {c.attrs["Labels"][LABEL_CONTAINER] for c in docker_containers}
    assert owners == {uri.rstrip("/").rsplit("/", 1)[-1] for uri in body["containers"]}


def test_worker_killed_while_scaling_0_to_10(worker, docker_client, api):
    app = create_service(api, **SLEEPER, name="kill-scale", target_num_containers=0)
    app_uri = app["resource_uri"]
    wait_for_state(api, app_uri, "Stopped")
    assert api.patch(app_uri, {"target_num_containers": 10}, format="json").status_code == 202
    uuid = app["uuid"]

    def running():
        return [c for c in labelled(docker_client, uuid) if c.status == "running"]

    # Creating is quick, starting is what takes time: kill once some, not all, have started.
    wait_for(lambda: len(running()) >= 1, timeout=30, interval=0.05, message="the first container running")
    try:
        worker.kill(9)
        killed_at = time.monotonic()
        started_before_kill = len(running())
        in_progress = Container.objects.filter(service__uuid=uuid).exclude(state="Running").count()
        assert in_progress > 0, "the worker finished before it could be killed; nothing was proven"
    finally:
        worker.start()
    wait_for_state(api, app_uri, "Running", timeout=90)
    print(
        f"\n[convergence] worker SIGKILLed mid-scale ({started_before_kill}/10 running, {in_progress} in progress): "
        f"{time.monotonic() - killed_at:.2f}s"
    )
    assert_exactly(api, docker_client, app_uri, 10)


def test_twenty_concurrent_scale_requests(worker, docker_client, api, live_server, user):
    app = create_service(api, **SLEEPER, name="storm", target_num_containers=1)
    app_uri = app["resource_uri"]
    wait_for_state(api, app_uri, "Running")
    headers = {"Authorization": api._credentials["HTTP_AUTHORIZATION"], "Content-Type": "application/json"}
    rng = random.Random(1234)
    targets = [rng.randint(1, 6) for _ in range(20)]
    results = []
    barrier = threading.Barrier(len(targets))

    def scale(target):
        barrier.wait()
        r = requests.patch(f"{live_server.url}{app_uri}", json={"target_num_containers": target}, headers=headers)
        results.append((target, r.status_code, r.json()))

    threads = [threading.Thread(target=scale, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = time.monotonic()
    accepted = [target for target, status, _ in results if status == 202]
    refused = [body for _, status, body in results if status != 202]
    assert accepted, results
    assert all("Cannot scale" in body["error"] for body in refused), refused
    final_target = Service.objects.get(uuid=app["uuid"]).target_num_containers
    assert final_target in accepted
    # The last write under the row lock is the one that holds; every answer saw a target that was true then.
    wait_for(
        lambda: api.get(app_uri).json()["state"] in ("Running", "Stopped"), timeout=90, message="the storm to settle"
    )
    print(
        f"\n[convergence] 20 concurrent scale requests ({len(accepted)} accepted) settled in "
        f"{time.monotonic() - started:.2f}s, final target {final_target}"
    )
    if final_target == 0:
        assert labelled(docker_client, app["uuid"]) == []
        assert api.get(app_uri).json()["state"] == "Stopped"
    else:
        assert_exactly(api, docker_client, app_uri, final_target)

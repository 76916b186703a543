"""Faults of the parts around the server: a Docker engine restarted or gone, and Redis restarted with work
queued. The engine faults use a second engine of their own (tests/e2e/engines.py) so that the main one is
never disturbed. Measured convergence times are printed (pytest -s)."""

import time

import pytest

from apps.containers.models import Container
from apps.nodes.models import NodeState

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import SLEEPER, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def create(api, name, target=1, **fields):
    return create_service(api, **{**SLEEPER, "name": name, "target_num_containers": target, **fields})


def test_dockerd_restart_while_applications_run(worker, api, second_engine):
    plain = wait_for_state(api, create(api, "restart-plain", target=2)["resource_uri"], "Running")
    healing = wait_for_state(api, create(api, "restart-heal", autorestart="ALWAYS")["resource_uri"], "Running")
    assert set(Container.objects.values_list("node__name", flat=True)) == {second_engine.node.name}
    old_ids = set(Container.objects.values_list("docker_id", flat=True))

    second_engine.restart()
    restarted_at = time.monotonic()
    # The engine killed them on its way down: not a stop anyone asked for, so "with errors".
    body = wait_for_state(api, plain["resource_uri"], "Stopped with errors", timeout=60)
    print(f"\n[convergence] dockerd restart -> plain app Stopped with errors: {time.monotonic() - restarted_at:.2f}s")
    assert body["running_num_containers"] == 0
    assert body["stopped_num_containers"] == 2
    for uri in body["containers"]:
        container = api.get(uri).json()
        assert container["state"] == "Stopped"
        assert container["exit_code"] not in (None, 0)

    # The record alone can still say Running from before (a restart made while the engine was going down is
    # undone by the shutdown); converged means the engine runs it again and the API says so.
    engine = second_engine.client()

    def healed():
        (row,) = Container.objects.filter(service__uuid=healing["uuid"])
        in_engine = bool(row.docker_id) and engine.containers.get(row.docker_id).status == "running"
        return row if in_engine and api.get(healing["resource_uri"]).json()["state"] == "Running" else None

    try:
        healing_container = wait_for(healed, timeout=60, message="the autorestart app running in engine and API")
    except AssertionError:
        print(list(Container.objects.values_list("unique_name", "state", "exit_code_msg")))
        raise
    print(f"[convergence] dockerd restart -> autorestart app Running: {time.monotonic() - restarted_at:.2f}s")
    assert healing_container.docker_id in old_ids  # restarted, not replaced

    # And the stopped application starts again on the restarted engine.
    assert api.post(f"{plain['resource_uri']}start/").status_code == 202
    wait_for_state(api, plain["resource_uri"], "Running", timeout=60)


def test_engine_unreachable_then_back(worker, api, second_engine, other_api):
    app = wait_for_state(api, create(api, "lost-node", target=2)["resource_uri"], "Running")
    node_uri = f"/api/v1/node/{second_engine.node.uuid}/"

    second_engine.stop()
    lost_at = time.monotonic()
    wait_for(lambda: api.get(node_uri).json()["state"] == NodeState.UNREACHABLE, timeout=30, message="node Unreachable")
    print(f"\n[convergence] engine stopped -> node Unreachable: {time.monotonic() - lost_at:.2f}s")
    # The API keeps answering, quickly, and says where the truth is unknown.
    started = time.monotonic()
    assert api.get("/api/v1/application/").status_code == 200
    body = api.get(app["resource_uri"]).json()
    for uri in body["containers"]:
        container = api.get(uri).json()
        assert "unreachable" in container["exit_code_msg"]
    assert time.monotonic() - started < 5
    # Work asked for meanwhile is accepted and waits for the engine.
    assert api.patch(app["resource_uri"], {"target_num_containers": 3}, format="json").status_code == 202

    second_engine.start()
    back_at = time.monotonic()
    wait_for(lambda: api.get(node_uri).json()["state"] == NodeState.REACHABLE, timeout=60, message="node back")
    # The engine's restart stopped the containers; the scale that waited completes on top.
    wait_for(
        lambda: (
            api.get(app["resource_uri"]).json()["current_num_containers"] == 3
            and api.get(app["resource_uri"]).json()["state"] in ("Partly running", "Stopped with errors", "Stopped")
        ),
        timeout=90,
        message="the app to settle after the engine came back",
    )
    print(f"[convergence] engine back -> node Reachable and app settled: {time.monotonic() - back_at:.2f}s")
    body = api.get(app["resource_uri"]).json()
    for uri in body["containers"]:
        assert "unreachable" not in (api.get(uri).json()["exit_code_msg"] or "")
    assert api.post(f"{app['resource_uri']}start/").status_code == 202
    wait_for_state(api, app["resource_uri"], "Running", timeout=60)
    assert len(second_engine.client().containers.list()) == 3


def test_redis_restart_with_work_queued(default_worker, docker_client, api, broker_redis):
    worker = default_worker
    worker.pause()  # nothing consumes: the work stays queued in Redis
    try:
        first = create(api, "queued-a", target=2)
        second = create(api, "queued-b", target=1)
        # One of the two may already sit in the frozen worker's socket (popped, never acknowledged):
        # lost with the worker's connection, which is a lost message too.
        assert broker_redis.queued() >= 1
        broker_redis.restart()  # no persistence: the queued messages are gone; returns once Redis answers PING
        assert broker_redis.queued() == 0
    finally:
        worker.resume()
    back_at = time.monotonic()  # Redis answers and the worker runs again: the fault has ended
    for app in (first, second):
        wait_for_state(api, app["resource_uri"], "Running", timeout=90)
    recovered = time.monotonic() - back_at
    print(f"\n[convergence] Redis restarted with 2 operations queued -> all Running: {recovered:.2f}s")
    running = docker_client.containers.list(filters={"label": f"tutum.service={first['uuid']}"})
    assert len(running) == 2
    assert len(docker_client.containers.list(all=True, filters={"label": f"tutum.service={second['uuid']}"})) == 1
    # Within 5 s of Redis being back, as after any fault (tests/e2e/test_faults.py): not at the next sweep.
    assert recovered <= 5, f"{recovered:.2f}s from Redis back to all Running"

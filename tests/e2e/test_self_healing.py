"""Self-healing on real parts: Docker events and the reconciler keep the declared state true.

Each test prints the measured convergence time (pytest -s shows it; the closing note quotes them).
"""

import time

import pytest

from apps.containers.models import Container

from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import SLEEPER, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def create_running(api, name, target=1, **fields):
    app = create_service(api, **{**SLEEPER, "name": name, "target_num_containers": target, **fields})
    return wait_for_state(api, app["resource_uri"], "Running")


def only_container(api, app):
    (uri,) = api.get(app["resource_uri"]).json()["containers"]
    return api.get(uri).json()


def docker_of(docker_client, container):
    return docker_client.containers.get(Container.objects.get(uuid=container["uuid"]).docker_id)


def report(label, started):
    print(f"\n[convergence] {label}: {time.monotonic() - started:.2f}s")


def test_autorestart_always_brings_a_killed_container_back(worker, docker_client, api):
    app = create_running(api, "heal-always", autorestart="ALWAYS")
    container = only_container(api, app)
    docker_container = docker_of(docker_client, container)
    started = time.monotonic()
    docker_container.kill()

    def restarted():
        body = api.get(container["resource_uri"]).json()
        docker_container.reload()
        return body["state"] == "Running" and docker_container.status == "running" and body

    body = wait_for(restarted, timeout=30, message="the killed container to run again")
    report("autorestart ALWAYS after docker kill", started)
    assert body["uuid"] == container["uuid"]
    assert api.get(app["resource_uri"]).json()["state"] == "Running"


def test_autorestart_on_failure_leaves_a_clean_exit_stopped(worker, docker_client, api):
    app = create_running(
        api, "heal-clean", autorestart="ON_FAILURE", run_command='sh -c "trap \\"exit 0\\" TERM; sleep 3600 & wait"'
    )
    container = only_container(api, app)
    docker_container = docker_of(docker_client, container)
    started = time.monotonic()
    docker_container.kill(signal="SIGTERM")
    body = wait_for_state(api, container["resource_uri"], "Stopped", timeout=30)
    report("ON_FAILURE exit 0 recorded as Stopped", started)
    assert body["exit_code"] == 0
    assert body["exit_code_msg"] == "Exit code 0 (Success)"
    time.sleep(3)  # longer than a sweep interval: nothing restarts it
    assert api.get(container["resource_uri"]).json()["state"] == "Stopped"
    docker_container.reload()
    assert docker_container.status == "exited"
    assert api.get(app["resource_uri"]).json()["state"] == "Stopped"


def test_autorestart_on_failure_restarts_a_killed_container(worker, docker_client, api):
    app = create_running(api, "heal-onfail", autorestart="ON_FAILURE")
    container = only_container(api, app)
    docker_container = docker_of(docker_client, container)
    docker_container.kill()
    wait_for(
        lambda: (
            Container.objects.get(uuid=container["uuid"]).started_datetime
            != Container.objects.get(uuid=container["uuid"]).deployed_datetime
            and api.get(container["resource_uri"]).json()["state"] == "Running"
        ),
        timeout=30,
        message="restart after exit 137",
    )


def test_autoreplace_replaces_an_exited_container_keeping_the_target(worker, docker_client, api):
    app = create_running(api, "heal-replace", target=2, autoreplace="ALWAYS")
    container = only_container_of(api, app, 0)
    started = time.monotonic()
    docker_of(docker_client, container).kill()
    wait_for_state(api, container["resource_uri"], "Terminated", timeout=30)

    def replaced():
        body = api.get(app["resource_uri"]).json()
        return body["state"] == "Running" and len(body["containers"]) == 2 and body

    body = wait_for(replaced, timeout=30, message="a replacement container running")
    report("autoreplace", started)
    assert container["resource_uri"] not in body["containers"]
    assert body["target_num_containers"] == 2
    names = sorted(api.get(uri).json()["unique_name"] for uri in body["containers"])
    expected = sorted({"heal-replace-1", "heal-replace-2", "heal-replace-3"} - {container["unique_name"]})
    assert names == expected


def only_container_of(api, app, index):
    uris = api.get(app["resource_uri"]).json()["containers"]
    return api.get(sorted(uris)[index]).json()


def test_autodestroy_terminates_and_lowers_the_target(worker, docker_client, api):
    app = create_running(api, "heal-destroy", target=2, autodestroy="ALWAYS")
    container = only_container_of(api, app, 0)
    started = time.monotonic()
    docker_of(docker_client, container).kill()
    wait_for_state(api, container["resource_uri"], "Terminated", timeout=30)
    body = wait_for_state(api, app["resource_uri"], "Running", timeout=30)
    report("autodestroy", started)
    assert body["target_num_containers"] == 1
    assert len(body["containers"]) == 1
    assert not docker_client.containers.list(all=True, filters={"label": f"tutum.container={container['uuid']}"})


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({}, "Stopped"),
        ({"autorestart": "ALWAYS"}, "Running"),
        ({"autoreplace": "ALWAYS"}, "Terminated"),
    ],
)
def test_container_removed_behind_our_back(worker, docker_client, api, flags, expected):
    app = create_running(api, f"heal-rm-{len(flags)}-{expected.lower()}", **flags)
    container = only_container(api, app)
    old_id = docker_of(docker_client, container).id
    started = time.monotonic()
    docker_client.api.remove_container(old_id, force=True)
    if expected == "Running":
        # The row was Running before, and the crash and its restart are recorded in one step: wait for the
        # restart on a new Docker container, not for a state the old one already showed.
        wait_for(
            lambda: Container.objects.filter(uuid=container["uuid"]).exclude(docker_id=old_id).exists(),
            timeout=30,
            message="a new Docker container",
        )
    body = wait_for_state(api, container["resource_uri"], expected, timeout=30)
    report(f"docker rm -f with {flags or 'no flags'} -> {expected}", started)
    if expected == "Stopped":
        # `docker rm -f` kills first: the die event may be seen before the container is gone.
        assert body["exit_code_msg"] in ("The Docker container disappeared.", "Exit code 137 (Failure)")
        assert api.get(app["resource_uri"]).json()["state"] == "Stopped with errors"
    if expected == "Running":
        assert Container.objects.get(uuid=container["uuid"]).docker_id != old_id
    if expected == "Terminated":
        wait_for_state(api, app["resource_uri"], "Running", timeout=30)
        assert len(api.get(app["resource_uri"]).json()["containers"]) == 1


def test_one_reconcile_removes_every_orphan_even_without_a_container_label(docker_client):
    """Orphans were keyed by their container label: those without one (or sharing one) collapsed into one
    entry, and a sweep removed one of them."""
    from django.conf import settings

    from orchestrator.driver.base import LABEL_CONTAINER, LABEL_INSTANCE
    from orchestrator.reconciler import reconcile_node
    from orchestrator.scheduler import ensure_default_node

    instance = {LABEL_INSTANCE: settings.TUTUM_INSTANCE}
    shared = {**instance, LABEL_CONTAINER: "00000000-0000-4000-8000-000000000001"}
    orphans = [
        docker_client.containers.create("local/busybox:latest", ["sleep", "3600"], labels=labels)
        for labels in (instance, instance, shared, shared)
    ]
    reconcile_node(ensure_default_node())
    left = [o.id for o in orphans if docker_client.containers.list(all=True, filters={"id": o.id})]
    assert left == []


def test_labelled_containers_nobody_owns_are_removed(worker, docker_client, api):
    from django.conf import settings

    from orchestrator.driver.base import LABEL_CONTAINER, LABEL_INSTANCE

    app = create_running(api, "heal-orphans")
    ours = docker_of(docker_client, only_container(api, app))
    orphan = docker_client.containers.run(
        "local/busybox:latest",
        ["sleep", "3600"],
        detach=True,
        labels={LABEL_INSTANCE: settings.TUTUM_INSTANCE, LABEL_CONTAINER: "00000000-0000-4000-8000-000000000000"},
    )
    stranger = docker_client.containers.run("local/busybox:latest", ["sleep", "3600"], detach=True)
    try:
        started = time.monotonic()
        wait_for(
            lambda: not docker_client.containers.list(all=True, filters={"id": orphan.id}),
            timeout=30,
            message="the orphan to be removed",
        )
        report("orphan removed by the reconciler", started)
        ours.reload()
        assert ours.status == "running"
        stranger.reload()  # not labelled as ours: never touched
        assert stranger.status == "running"
    finally:
        stranger.remove(force=True)

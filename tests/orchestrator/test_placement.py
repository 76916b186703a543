"""Placement rules (apps.nodes.placement): strategies, tags, unreachable nodes, and the use cases that place
new container rows at once."""

import pytest

from apps.containers.choices import ContainerState as CS
from apps.core.images import parse_image_reference
from apps.nodes import placement
from apps.nodes.models import Node, NodeState
from apps.services import services
from apps.services.choices import DeploymentStrategy as DS
from apps.services.choices import ServiceState as AS
from orchestrator import converge
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def three():
    a = placement.default_node()
    b = Node.objects.create(name="b", docker_host="tcp://192.0.2.2:2376", tags=["ssd"])
    c = Node.objects.create(name="c", docker_host="tcp://192.0.2.3:2376", tags=["ssd", "eu"])
    return a, b, c


def names(nodes):
    return [n.name if n else None for n in nodes]


def test_emptiest_node_counts_every_service(user, three):
    a, b, c = three
    busy = make_application(user, "busy", containers=3, container_state=CS.RUNNING)
    busy.containers.update(node=a)
    service = make_application(user, "new", containers=0)

    assert names(placement.pick(service, 4)) == ["b", "c", "b", "c"]


def test_high_availability_spreads_one_service_before_counting_load(user, three):
    a, b, c = three
    busy = make_application(user, "busy", containers=2, container_state=CS.RUNNING)
    busy.containers.update(node=b)
    service = make_application(
        user, "ha", containers=1, container_state=CS.RUNNING, deployment_strategy=DS.HIGH_AVAILABILITY
    )
    service.containers.update(node=a)

    # c and b have none of it (c fewer in all), then one of it each: by load (a 1, c 1, b 3), then by id.
    assert names(placement.pick(service, 5)) == ["c", "b", "default", "c", "b"]


def test_every_node_gives_each_node_one_and_no_more(user, three):
    a, b, c = three
    service = make_application(user, "all", containers=1, container_state=CS.RUNNING, deployment_strategy=DS.EVERY_NODE)
    service.containers.update(node=b)

    assert names(placement.pick(service, 3)) == ["default", "c", None]
    assert placement.every_node_target(service) == 3


def test_tags_keep_containers_on_nodes_with_all_of_them(user, three):
    service = make_application(user, "eu", containers=0, tags=["eu", "ssd"])
    assert names(placement.pick(service, 2)) == ["c", "c"]

    nowhere = make_application(user, "gpu", containers=0, tags=["gpu", "eu"])
    with pytest.raises(placement.NoMatchingNode, match="eu, gpu"):
        placement.pick(nowhere, 1)


def test_unreachable_and_unschedulable_nodes_get_nothing(user, three):
    a, b, c = three
    Node.objects.filter(pk=b.pk).update(state=NodeState.UNREACHABLE)
    Node.objects.filter(pk=c.pk).update(schedulable=False)
    service = make_application(user, "new", containers=0)
    assert names(placement.pick(service, 2)) == ["default", "default"]

    ssd = make_application(user, "ssd", containers=0, tags=["ssd"])
    assert names(placement.pick(ssd, 2)) == [None, None]  # b matches but is unreachable: the worker places later


def test_terminated_containers_do_not_count(user, three):
    a, b, c = three
    gone = make_application(user, "gone", containers=4, container_state=CS.TERMINATED)
    gone.containers.update(node=a)
    service = make_application(user, "new", containers=0)
    assert names(placement.pick(service, 1)) == ["default"]


def _create(user, **fields):
    data = {"name": fields.pop("name", "web"), "image": parse_image_reference("local/busybox"), **fields}
    return services.create_service(user, data)


def test_rows_are_placed_when_created_and_when_scaled(user, three):
    service = _create(user, target_num_containers=3, deployment_strategy=DS.HIGH_AVAILABILITY)
    assert sorted(service.containers.values_list("node__name", flat=True)) == ["b", "c", "default"]

    Service = type(service)
    Service.objects.filter(pk=service.pk).update(state=AS.RUNNING)
    service.refresh_from_db()
    services.update_service(service, {"target_num_containers": 6})
    per_node = sorted(service.containers.live().values_list("node__name", flat=True))
    assert per_node == ["b", "b", "c", "c", "default", "default"]


def test_every_node_service_target_follows_the_nodes(user, three):
    a, b, c = three
    service = _create(user, target_num_containers=1, deployment_strategy=DS.EVERY_NODE)
    service.refresh_from_db()
    assert service.target_num_containers == 3
    assert sorted(service.containers.values_list("node__name", flat=True)) == ["b", "c", "default"]

    Node.objects.create(name="d", docker_host="tcp://192.0.2.4:2376")
    Node.objects.filter(pk=b.pk).update(schedulable=False)
    with services.transaction.atomic():
        locked = type(service).objects.select_for_update().get(pk=service.pk)
        services.match_container_rows(locked)
    service.refresh_from_db()
    assert service.target_num_containers == 3
    live = sorted(service.containers.live().values_list("node__name", flat=True))
    assert live == ["c", "d", "default"]  # b's container is the one retired
    assert service.containers.get(node=b).state == CS.TERMINATING

    # An unreachable node keeps its container and its place in the target: a blip is no scale-down.
    Node.objects.filter(name="d").update(state=NodeState.UNREACHABLE)
    with services.transaction.atomic():
        services.match_container_rows(type(service).objects.select_for_update().get(pk=service.pk))
    assert sorted(service.containers.live().values_list("node__name", flat=True)) == ["c", "d", "default"]


def test_no_matching_node_fails_the_start_naming_the_tags(user, three):
    service = _create(user, target_num_containers=2, tags=["gpu"])
    states = set(service.containers.values_list("state", "exit_code_msg", "node"))
    assert len(states) == 1
    state, message, node = states.pop()
    assert (state, node) == (CS.START_FAILED, None)
    assert "gpu" in message


def test_the_worker_places_rows_left_unplaced(user, three):
    a, b, c = three
    service = make_application(
        user,
        "late",
        state=AS.STARTING,
        containers=2,
        container_state=CS.STARTING,
        tags=["ssd"],
        image_defaults_applied=True,
    )
    converge.place_containers(service)
    assert sorted(service.containers.values_list("node__name", flat=True)) == ["b", "c"]

    Node.objects.filter(pk__in=[b.pk, c.pk]).update(tags=[])
    extra = make_application(
        user,
        "late2",
        state=AS.STARTING,
        containers=1,
        container_state=CS.STARTING,
        tags=["ssd"],
        image_defaults_applied=True,
    )
    converge.place_containers(extra)
    container = extra.containers.get()
    assert (container.state, container.node_id) == (CS.START_FAILED, None)
    assert "ssd" in container.exit_code_msg


def test_a_lost_nodes_healing_containers_move_with_their_names(user, three, settings):
    from django.utils import timezone

    from orchestrator.nodes import lost_nodes, recover_lost_nodes

    a, b, c = three
    settings.TUTUM_NODE_LOST_AFTER_SECONDS = 30
    heal = make_application(user, "heal", containers=2, container_state=CS.RUNNING, autorestart="ALWAYS")
    replace = make_application(user, "replace", containers=1, container_state=CS.RUNNING, autoreplace="ON_FAILURE")
    plain = make_application(user, "plain", containers=1, container_state=CS.RUNNING)
    stopped = make_application(user, "stopped", containers=1, container_state=CS.STOPPED, autorestart="ALWAYS")
    for service in (heal, replace, plain, stopped):
        service.containers.update(node=b, docker_id="old")
    Node.objects.filter(pk=b.pk).update(state=NodeState.UNREACHABLE, last_seen=timezone.now())
    assert recover_lost_nodes() == []  # unreachable, not lost yet

    Node.objects.filter(pk=b.pk).update(last_seen=timezone.now() - timezone.timedelta(seconds=31))
    assert list(lost_nodes()) == [Node.objects.get(pk=b.pk)]
    moved = recover_lost_nodes()
    assert len(moved) == 3
    for service in (heal, replace):
        for container in service.containers.all():
            assert (container.state, container.docker_id) == (CS.STARTING, "")
            assert container.node_id in (a.pk, c.pk)
            assert container.unique_name.startswith(service.unique_name)
            assert "stopped answering" in container.exit_code_msg
    assert {c.node_id for c in heal.containers.all()} == {a.pk, c.pk}  # placed by the usual rules
    assert plain.containers.get().node_id == b.pk  # no healing asked: it waits for its node
    assert stopped.containers.get().node_id == b.pk
    assert recover_lost_nodes() == []  # nothing left to move


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_count_each_others_rows(make_user):
    """Two creates at once, each holding the placement lock to its commit: the second sees the first's
    container and takes the other node (without the lock both would pick the emptiest, the same one)."""
    import threading
    import time

    from django.db import connection, transaction

    owners = {"race0": make_user("carol"), "race1": make_user("dave")}  # two users: no shared row lock
    placement.default_node()
    Node.objects.create(name="b", docker_host="tcp://192.0.2.2:2376")
    entered, results, errors = threading.Barrier(2), [], []

    def create(name):
        try:
            entered.wait()
            with transaction.atomic():
                service = _create(owners[name], name=name, target_num_containers=1)
                results.append(service.containers.get().node.name)
                time.sleep(0.3)  # hold the lock a while: the other create waits for this commit
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(f"race{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == ["b", "default"]


def test_only_every_node_services_meant_to_run_recount_when_nodes_change(user, three):
    running = make_application(user, "all", containers=1, deployment_strategy=DS.EVERY_NODE)
    make_application(user, "idle", state=AS.STOPPED, containers=1, deployment_strategy=DS.EVERY_NODE)
    make_application(user, "one", containers=1)
    assert placement.every_node_services() == [str(running.uuid)]

"""Placement: the least loaded reachable node, counted once for a whole fan-out; node marks."""

import pytest
from django.utils import timezone

from apps.containers.choices import ContainerState as CS
from apps.nodes.models import Node, NodeState
from apps.services.choices import ServiceState as AS
from orchestrator import converge
from orchestrator.scheduler import ensure_default_node, pick_nodes
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def nodes():
    default = ensure_default_node()
    other = Node.objects.create(name="other", docker_host="tcp://192.0.2.1:2376")
    return default, other


def test_a_fan_out_is_spread_as_if_placed_one_by_one(user, nodes):
    default, other = nodes
    busy = make_application(user, "busy", containers=2, container_state=CS.RUNNING)
    busy.containers.update(node=default)

    picked = pick_nodes(4)

    # other takes the first two (it had none), then they alternate: 2 + 2 against 2 + 0.
    assert [n.pk for n in picked] == [other.pk, other.pk, default.pk, other.pk]


def test_unreachable_and_unschedulable_nodes_get_nothing(user, nodes):
    default, other = nodes
    Node.objects.filter(pk=other.pk).update(state=NodeState.UNREACHABLE)
    assert {n.pk for n in pick_nodes(3)} == {default.pk}


def test_converge_application_places_its_new_containers_in_one_pick(user, nodes):
    default, other = nodes
    service = make_application(
        user, "new", state=AS.STARTING, containers=3, container_state=CS.STARTING, image_defaults_applied=True
    )
    placed_before = make_application(user, "placed", state=AS.STARTING, containers=1, container_state=CS.STARTING)
    placed_before.containers.update(node=default)

    converge.place_containers(service)

    by_number = dict(service.containers.values_list("number", "node_id"))
    assert by_number == {1: other.pk, 2: default.pk, 3: other.pk}  # 0 against 1, then ties go by id
    assert placed_before.containers.get().node_id == default.pk  # not moved


def test_a_reachable_node_is_not_rewritten_for_every_step(nodes):
    default, _ = nodes
    converge.mark_node(default, reachable=True)
    seen = Node.objects.get(pk=default.pk).last_seen
    assert seen is not None

    converge.mark_node(default, reachable=True)
    assert Node.objects.get(pk=default.pk).last_seen == seen

    Node.objects.filter(pk=default.pk).update(last_seen=timezone.now() - timezone.timedelta(seconds=5))
    converge.mark_node(default, reachable=True)
    assert Node.objects.get(pk=default.pk).last_seen > seen


def test_a_node_coming_back_is_marked_at_once(nodes):
    default, _ = nodes
    converge.mark_node(default, reachable=True)
    converge.mark_node(default, reachable=False, error="gone")
    assert Node.objects.get(pk=default.pk).state == NodeState.UNREACHABLE

    converge.mark_node(default, reachable=True)
    node = Node.objects.get(pk=default.pk)
    assert (node.state, node.last_error) == (NodeState.REACHABLE, "")

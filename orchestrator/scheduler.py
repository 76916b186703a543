"""Which node a container runs on: the reachable node with the fewest live containers."""

from django.conf import settings
from django.db.models import Count, Q

from apps.containers.choices import ContainerState
from apps.nodes.models import Node, NodeState

from .nodes import refresh_facts


def ensure_default_node() -> Node:
    """The engine at DOCKER_HOST is always a node, registered the first time anyone asks (with its facts,
    when the engine answers; otherwise the next sweep reads them)."""
    node, created = Node.objects.get_or_create(
        docker_host=settings.DOCKER_HOST,
        defaults={"name": "default", "publish_address": settings.TUTUM_PUBLISH_ADDRESS},
    )
    if created:
        refresh_facts(node)
    return node


def pick_node() -> Node:
    return pick_nodes(1)[0]


def pick_nodes(count: int) -> list[Node]:
    """A node for each of `count` new containers, each going to the least loaded node once the ones
    before it are counted: one query for a whole fan-out instead of one per container."""
    ensure_default_node()
    live = ~Q(containers__state__in=[ContainerState.TERMINATED])
    candidates = list(
        Node.objects.filter(state=NodeState.REACHABLE, schedulable=True)
        .annotate(load=Count("containers", filter=live))
        .order_by("load", "id")
    )
    if not candidates:
        fallback = Node.objects.filter(schedulable=True).order_by("id").first() or Node.objects.order_by("id").first()
        return [fallback] * count
    picked = []
    for _ in range(count):
        node = min(candidates, key=lambda n: (n.load, n.id))
        node.load += 1
        picked.append(node)
    return picked

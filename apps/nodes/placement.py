"""Which node each new container runs on, decided from rows alone when the container rows are created.

The rules:
- a service with tags runs only on schedulable nodes carrying all of them (their own or their node
  cluster's); with none, on any schedulable node;
- `EMPTIEST_NODE`: the node with the fewest live containers (of every service);
- `HIGH_AVAILABILITY`: the node with the fewest live containers of this service, then the fewest in all;
- `EVERY_NODE`: one container on every matching node, its target following how many there are (the
  use cases recount when the service converges; registering, changing or removing a node converges them).

Among the matching nodes only reachable ones get containers; when every matching node is unreachable the
rows stay unplaced and the worker places them once one answers. When no node matches at all the containers
fail to start with a message naming the tags.

Placements are decided under one Postgres advisory lock held to the end of the caller's transaction, so two
scales that run at once count each other's rows and never overshoot a node (callers hold the service's row
lock first, then this one: one order, no deadlock).
"""

import zlib

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q

from apps.containers.choices import ContainerState

from .models import Node, NodeState

PLACEMENT_LOCK = zlib.crc32(b"tutum.placement")
LIVE = ~Q(containers__state__in=[ContainerState.TERMINATING, ContainerState.TERMINATED])


class NoMatchingNode(Exception):
    """No schedulable node carries every tag the service asks for."""


def no_match_message(tags: list[str]) -> str:
    if tags:
        return (
            f"No node has all the tags {', '.join(sorted(tags))}: tag a node with them or remove them from the service."
        )
    return "No node is registered that accepts containers."


def lock_placement() -> None:
    """Wait for the placement lock; it is released when the caller's transaction ends. SQLite (one
    process writes at a time) needs none."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PLACEMENT_LOCK])


def register_default_node() -> tuple[Node, bool]:
    """The engine at DOCKER_HOST is always a node; its facts are read by the worker (at once when it
    registers the node, else by its next sweep). Returns the node and whether this call created it."""
    return Node.objects.get_or_create(
        docker_host=settings.DOCKER_HOST,
        defaults={"name": "default", "publish_address": settings.TUTUM_PUBLISH_ADDRESS},
    )


def default_node() -> Node:
    return register_default_node()[0]


def matching_nodes(tags: list[str], service=None) -> list[Node]:
    """Schedulable nodes carrying every tag, each annotated with `load` (its live containers) and, when a
    service is given, `own` (that service's live containers on it)."""
    default_node()
    annotations = {"load": Count("containers", filter=LIVE, distinct=True)}
    if service is not None:
        annotations["own"] = Count("containers", filter=LIVE & Q(containers__service=service), distinct=True)
    nodes = Node.objects.filter(schedulable=True).select_related("node_cluster").annotate(**annotations).order_by("id")
    wanted = set(tags or [])
    return [node for node in nodes if wanted <= node.all_tags]


def every_node_target(service) -> int:
    """How many containers an `EVERY_NODE` service wants: one for each matching node. An unreachable node
    still counts (its container is the lost-node rules' business, not a scale-down at every blip)."""
    return len(matching_nodes(service.tags))


def every_node_services() -> list[str]:
    """The uuids of the `EVERY_NODE` services to converge again when the set of nodes changed."""
    from apps.services.choices import DeploymentStrategy, ServiceState
    from apps.services.models import Service

    # A service that is not meant to run recounts its nodes at its next start.
    quiet = [
        ServiceState.NOT_RUNNING,
        ServiceState.STOPPING,
        ServiceState.STOPPED,
        ServiceState.STOPPED_WITH_ERRORS,
        ServiceState.TERMINATING,
        ServiceState.TERMINATED,
    ]
    every = Service.objects.filter(deployment_strategy=DeploymentStrategy.EVERY_NODE).exclude(state__in=quiet)
    return [str(uuid) for uuid in every.values_list("uuid", flat=True)]


def pick(service, count: int) -> list[Node | None]:
    """A node for each of `count` new containers of `service` (None: every matching node is unreachable,
    the worker places it later). Raises NoMatchingNode. Takes the placement lock; call it in a transaction."""
    from apps.services.choices import DeploymentStrategy

    if count <= 0:
        return []
    lock_placement()
    nodes = matching_nodes(service.tags, service=service)
    if not nodes:
        raise NoMatchingNode(no_match_message(service.tags))
    reachable = [node for node in nodes if node.state == NodeState.REACHABLE]
    if not reachable:
        return [None] * count
    strategy = service.deployment_strategy
    picked: list[Node | None] = []
    for _ in range(count):
        if strategy == DeploymentStrategy.EVERY_NODE:
            free = [node for node in reachable if node.own == 0]
            node = min(free, key=lambda n: (n.load, n.id)) if free else None
        elif strategy == DeploymentStrategy.HIGH_AVAILABILITY:
            node = min(reachable, key=lambda n: (n.own, n.load, n.id))
        else:
            node = min(reachable, key=lambda n: (n.load, n.id))
        if node is not None:
            node.load += 1
            node.own += 1
        picked.append(node)
    return picked


def pick_any(count: int) -> list[Node]:
    """Nodes for work that belongs to no service (an image to inspect): the emptiest reachable ones, or
    any schedulable node when none answers (the caller then meets its NodeUnreachable)."""
    nodes = matching_nodes([])
    reachable = [node for node in nodes if node.state == NodeState.REACHABLE]
    if not reachable:
        fallback = nodes[0] if nodes else Node.objects.order_by("id").first() or default_node()
        return [fallback] * count
    picked = []
    for _ in range(count):
        node = min(reachable, key=lambda n: (n.load, n.id))
        node.load += 1
        picked.append(node)
    return picked

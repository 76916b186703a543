"""Which node a container runs on. The rules live in apps.nodes.placement (they read only rows, and the
use cases place new containers with them); here the worker's side: the default node, and nodes for work
that belongs to no service."""

from apps.nodes.models import Node
from apps.nodes.placement import pick_any, register_default_node

from .nodes import refresh_facts


def ensure_default_node() -> Node:
    """The engine at DOCKER_HOST is always a node, registered the first time anyone asks (with its facts,
    when the engine answers; otherwise the next sweep reads them)."""
    node, created = register_default_node()
    if created:
        refresh_facts(node)
    return node


def pick_node() -> Node:
    return pick_nodes(1)[0]


def pick_nodes(count: int) -> list[Node]:
    """A node for each of `count` pieces of work, each going to the least loaded reachable node once the
    ones before it are counted: one query for a whole fan-out instead of one per container."""
    ensure_default_node()
    return pick_any(count)

"""Use cases on nodes: register an engine (checked at once), change its tags and nickname, drain and
terminate it. The operator's (staff) business; each runs in one transaction and wakes the controller after
commit. The engine check is named in settings (TUTUM_ENGINE_PROBE) so that apps/ does not import the
orchestrator."""

import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers

from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState

from . import placement
from .models import Node, NodeCluster, NodeState

logger = logging.getLogger(__name__)
CONVERGE_SERVICE = "orchestrator.converge_service"
DOCKER_HOST = re.compile(r"^(unix://)?/[^\s]+$|^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


class EngineRefused(Exception):
    """The engine did not answer, or refused the certificates; the message says why (never a secret)."""


def check_docker_host(docker_host: str) -> str:
    if not DOCKER_HOST.match(docker_host or ""):
        raise serializers.ValidationError(
            {"docker_host": ["A unix socket (unix:///var/run/docker.sock) or tcp://host:port."]}
        )
    return docker_host if not docker_host.startswith("/") else f"unix://{docker_host}"


def check_tls(docker_host: str, ca: str, cert: str, key: str) -> None:
    given = [bool(ca), bool(cert), bool(key)]
    if any(given) and not all(given):
        raise serializers.ValidationError({"tls": ["Give the CA, the client certificate and its key, or none."]})
    if all(given) and not docker_host.startswith("tcp://"):
        raise serializers.ValidationError({"tls": ["TLS certificates are for a tcp:// engine."]})


def probe(docker_host: str, ca: str = "", cert: str = "", key: str = "") -> dict:
    """Ask the engine for its facts now: a 400 saying why when it does not answer or refuses the
    certificates. Returns the node's fact fields."""
    try:
        return import_string(settings.TUTUM_ENGINE_PROBE)(docker_host, ca, cert, key)
    except EngineRefused as exc:
        logger.info("engine %s refused: %s", docker_host, exc)
        raise serializers.ValidationError({"docker_host": [f"The Docker engine at {docker_host} {exc}"]}) from None


def converge_every_node_services() -> None:
    """The set of nodes changed: services that run on every node recount after commit."""
    for uuid in placement.every_node_services():
        wake(CONVERGE_SERVICE, uuid)


@transaction.atomic
def register_node(
    name: str,
    docker_host: str,
    *,
    ca: str = "",
    cert: str = "",
    key: str = "",
    publish_address: str = "127.0.0.1",
    external_fqdn: str = "",
    nickname: str = "",
    tags: list[str] | None = None,
    schedulable: bool = True,
    check: bool = True,
) -> tuple[Node, bool]:
    """Register an engine as a `Deployed` node, or update the node of that name; its engine is asked for
    its facts first (`check`), so a node that cannot be reached is refused rather than recorded."""
    docker_host = check_docker_host(docker_host)
    check_tls(docker_host, ca, cert, key)
    facts = probe(docker_host, ca, cert, key) if check else {}
    placement.lock_placement()  # the set of nodes changes: no placement decided halfway through it
    node = Node.objects.filter(name=name).first() or Node(name=name)
    created = node.pk is None
    node.docker_host = docker_host
    node.publish_address = publish_address
    node.external_fqdn = external_fqdn
    node.nickname = nickname or node.nickname
    if tags is not None:
        node.tags = sorted(set(tags))
    node.schedulable = schedulable
    node.set_tls(ca, cert, key)
    for field, value in facts.items():
        setattr(node, field, value)
    if facts:
        node.state, node.last_seen, node.last_error = NodeState.REACHABLE, timezone.now(), ""
    node.save()
    converge_every_node_services()
    return node, created


@transaction.atomic
def update_node(node: Node, data: dict) -> Node:
    """PATCH `tags` and `nickname`. New tags move nothing that runs; they decide where new containers go
    (and which nodes a service on every node runs on)."""
    node = Node.objects.select_for_update().get(pk=node.pk)
    if node.state in (NodeState.TERMINATING, NodeState.TERMINATED):
        raise UnsuitableState(f"Cannot change the node while it is {node.state}.")
    if "nickname" in data:
        node.nickname = data["nickname"]
    if "tags" in data:
        node.tags = sorted(set(data["tags"]))
    node.save()
    if "tags" in data:
        converge_every_node_services()
    return node


@transaction.atomic
def terminate_node(node: Node) -> Node:
    """DELETE: drain the node. It takes no new containers (`Terminating`); every live container on it is
    replaced by one on another matching node (the service's placement rules) and terminated; once none
    is left the controller marks the node `Terminated`. A stopped container's replacement is recorded
    stopped: the next start of its service creates it."""
    from apps.services import services as service_use_cases
    from apps.services.models import Service

    node = Node.objects.select_for_update().get(pk=node.pk)
    if node.state == NodeState.TERMINATED:
        return node
    placement.lock_placement()
    node.schedulable = False
    node.state = NodeState.TERMINATING
    node.save(update_fields=["schedulable", "state", "modified"])
    service_ids = set(node.containers.live().values_list("service_id", flat=True))
    for service in Service.objects.filter(pk__in=service_ids).order_by("pk"):
        service_use_cases.replace_containers_of_node(service, node)
    converge_every_node_services()
    if not service_ids:
        finish_drain(node.pk)
    return node


def finish_drain(node_pk: int) -> bool:
    """A terminating node with no live container left is `Terminated`."""
    if Container.objects.filter(node_id=node_pk).exclude(state=ContainerState.TERMINATED).exists():
        return False
    return bool(
        Node.objects.filter(pk=node_pk, state=NodeState.TERMINATING).update(
            state=NodeState.TERMINATED, destroyed=timezone.now()
        )
    )


def _cluster_nodes(cluster, nodes) -> None:
    """The cluster holds exactly `nodes` (a node is in one cluster at most: it leaves any other)."""
    Node.objects.filter(node_cluster=cluster).exclude(pk__in=[n.pk for n in nodes]).update(node_cluster=None)
    Node.objects.filter(pk__in=[n.pk for n in nodes]).update(node_cluster=cluster)


@transaction.atomic
def create_cluster(name: str, nodes: list, tags: list[str], nickname: str = "") -> NodeCluster:
    if NodeCluster.objects.filter(name=name, destroyed__isnull=True).exists():
        raise serializers.ValidationError({"name": [f"A node cluster named {name} exists."]})
    placement.lock_placement()  # the nodes' tags change
    cluster = NodeCluster.objects.create(name=name, tags=sorted(set(tags)), nickname=nickname)
    _cluster_nodes(cluster, nodes)
    converge_every_node_services()
    return cluster


@transaction.atomic
def update_cluster(cluster: NodeCluster, data: dict) -> NodeCluster:
    """PATCH `nodes`, `tags`, `nickname` (`target_num_nodes` is accepted and means nothing: nodes are
    brought, not made)."""
    cluster = NodeCluster.objects.select_for_update().get(pk=cluster.pk)
    if cluster.destroyed:
        raise UnsuitableState("Cannot change the node cluster while it is Terminated.")
    placement.lock_placement()
    if "tags" in data:
        cluster.tags = sorted(set(data["tags"]))
    if "nickname" in data:
        cluster.nickname = data["nickname"]
    cluster.save()
    if "nodes" in data:
        _cluster_nodes(cluster, data["nodes"])
    converge_every_node_services()
    return cluster


@transaction.atomic
def terminate_cluster(cluster: NodeCluster) -> NodeCluster:
    """DELETE: the group goes (`Terminated`); its nodes stay registered, in no cluster and without its tags."""
    cluster = NodeCluster.objects.select_for_update().get(pk=cluster.pk)
    if cluster.destroyed:
        return cluster
    placement.lock_placement()
    _cluster_nodes(cluster, [])
    cluster.destroyed = timezone.now()
    cluster.save(update_fields=["destroyed", "modified"])
    converge_every_node_services()
    return cluster


def tags_in_use() -> list[str]:
    """Every tag a node or a live node cluster carries."""
    names: set[str] = set()
    for tags in Node.objects.exclude(state=NodeState.TERMINATED).values_list("tags", flat=True):
        names.update(tags)
    for tags in NodeCluster.objects.filter(destroyed__isnull=True).values_list("tags", flat=True):
        names.update(tags)
    return sorted(names)

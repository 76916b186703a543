"""/api/v1/node/ in the 2015 shape (what `tutum node list` and `node inspect` read), its filters, and the
node facts recorded from an engine. On Postgres; the engine facts from a real engine are in
tests/e2e/test_node_facts.py."""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.nodes.models import Node, NodeState
from orchestrator.driver import EngineInfo, NodeUnreachable
from orchestrator.nodes import refresh_facts

from .app_support import CS, RFC2822, make_application, set_state

pytestmark = pytest.mark.django_db

NODES = "/api/v1/node/"
NODE_KEYS = {
    # the 2015 node
    "uuid",
    "resource_uri",
    "external_fqdn",
    "state",
    "node_cluster",
    "node_type",
    "region",
    "availability_zone",
    "docker_execdriver",
    "docker_graphdriver",
    "docker_version",
    "cpu",
    "memory",
    "disk",
    "last_metric",
    "current_num_containers",
    "last_seen",
    "public_ip",
    "tunnel",
    "deployed_datetime",
    "destroyed_datetime",
    "tags",
    "nickname",
    # this server's own, as before
    "name",
    "schedulable",
    "last_error",
}


@pytest.fixture
def node():
    return Node.objects.create(
        name="node-1",
        docker_host="tcp://127.0.0.1:1",
        publish_address="10.0.0.7",
        docker_version="24.0.7",
        docker_graphdriver="overlay2",
        docker_execdriver="runc",
        cpu=4,
        memory=7963,
        tags=["prod", "eu"],
    )


def objects(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["objects"]


def test_a_node_has_the_2015_keys_with_their_types(api, node):
    (item,) = objects(api.get(NODES))
    assert set(item) == NODE_KEYS
    assert item == api.get(f"{NODES}{node.uuid}/").json()
    assert item["uuid"] == str(node.uuid)
    assert item["resource_uri"] == f"/api/v1/node/{node.uuid}/"
    assert (item["external_fqdn"], item["public_ip"]) == ("10.0.0.7", "10.0.0.7")
    assert item["state"] == "Deployed"
    assert (item["docker_version"], item["docker_graphdriver"], item["docker_execdriver"]) == (
        "24.0.7",
        "overlay2",
        "runc",
    )
    assert (item["cpu"], item["memory"], item["disk"]) == (4, 7963, None)
    assert item["tags"] == [{"name": "prod"}, {"name": "eu"}]
    assert item["nickname"] == "node-1"
    assert RFC2822.match(item["deployed_datetime"])
    assert (item["last_seen"], item["destroyed_datetime"]) == (None, None)
    # A node registered by the operator belongs to no cluster, type, region or zone, and has no tunnel or
    # metrics: `tutum node list` shows the raw null as its cluster and asks nothing more.
    for key in ("node_cluster", "node_type", "region", "availability_zone", "tunnel", "last_metric"):
        assert item[key] is None, key
    assert item["current_num_containers"] == 0


def test_external_fqdn_and_nickname_when_configured(api, node):
    Node.objects.filter(pk=node.pk).update(external_fqdn="docker-1.example.com", nickname="first")
    (item,) = objects(api.get(NODES))
    assert (item["external_fqdn"], item["public_ip"], item["nickname"]) == ("docker-1.example.com", "10.0.0.7", "first")


def test_current_num_containers_counts_your_live_containers_there(api, user, other_user, node):
    app = make_application(user, "web", containers=3)
    app.containers.update(node=node)
    set_state(app.containers.get(number=3), CS.TERMINATED)
    make_application(user, "elsewhere", containers=2)  # not placed
    make_application(other_user, "theirs", containers=4).containers.update(node=node)

    (item,) = objects(api.get(NODES))

    assert item["current_num_containers"] == 2


def test_nodes_are_listed_for_every_user(api, other_api, node):
    assert [n["uuid"] for n in objects(api.get(NODES))] == [str(node.uuid)]
    assert [n["uuid"] for n in objects(other_api.get(NODES))] == [str(node.uuid)]


def test_filters_uuid_uuid_prefix_state_and_docker_version(api, node):
    other = Node.objects.create(name="node-2", docker_host="tcp://127.0.0.1:2", state=NodeState.UNREACHABLE)

    def listed(**query):
        return [n["name"] for n in objects(api.get(NODES, query))]

    assert listed(uuid=str(other.uuid)) == ["node-2"]
    assert listed(uuid__startswith=str(node.uuid)[:8]) == ["node-1"]
    assert listed(state="Unreachable") == ["node-2"]
    assert listed(state="Deployed") == ["node-1"]
    assert listed(docker_version="24.0.7") == ["node-1"]
    assert api.get(NODES, {"state": "Asleep"}).status_code == 400


def test_a_missing_node_is_a_404_and_nodes_are_read_only_to_users(api, node):
    assert api.get(f"{NODES}{uuid.uuid4()}/").status_code == 404
    assert api.post(NODES, {}, format="json").status_code == 403  # staff only: tests/api/test_nodes_write.py
    assert api.delete(f"{NODES}{node.uuid}/").status_code == 403
    assert Node.objects.filter(pk=node.pk).exists()


def test_the_node_list_runs_the_same_number_of_queries_for_1_and_20_nodes(api, user, node):
    make_application(user, "web", containers=2).containers.update(node=node)
    assert api.get(NODES).status_code == 200
    with CaptureQueriesContext(connection) as few:
        assert len(objects(api.get(NODES))) == 1
    for n in range(19):
        extra = Node.objects.create(name=f"extra-{n}", docker_host=f"tcp://127.0.0.1:{100 + n}")
        make_application(user, f"app{n}", containers=1).containers.update(node=extra)
    with CaptureQueriesContext(connection) as many:
        assert len(objects(api.get(NODES))) == 20
    assert len(few.captured_queries) == len(many.captured_queries)


# ---------------------------------------------------------------- facts


class EngineStub:
    """An engine answering `docker info` with the given facts, or not answering at all."""

    def __init__(self, info: EngineInfo | None):
        self.answer = info
        self.calls = 0

    def info(self) -> EngineInfo:
        self.calls += 1
        if self.answer is None:
            raise NodeUnreachable("Docker engine at tcp://127.0.0.1:1 is unreachable")
        return self.answer


def test_refresh_records_the_engines_facts_and_writes_only_when_they_change(node):
    upgraded = EngineInfo("25.0.1", "overlay2", "runc", cpus=8, memory_mb=15927, disk_gb=100)

    assert refresh_facts(node, EngineStub(upgraded)) is True
    stored = Node.objects.get(pk=node.pk)
    assert (stored.docker_version, stored.cpu, stored.memory, stored.disk) == ("25.0.1", 8, 15927, 100)

    with CaptureQueriesContext(connection) as queries:
        assert refresh_facts(stored, EngineStub(upgraded)) is True
    assert queries.captured_queries == []


def test_an_engine_that_does_not_answer_leaves_the_facts_as_they_were(node):
    assert refresh_facts(node, EngineStub(None)) is False
    stored = Node.objects.get(pk=node.pk)
    assert (stored.docker_version, stored.cpu, stored.memory) == ("24.0.7", 4, 7963)


def test_addnode_registers_a_node_whose_engine_does_not_answer_yet(api):
    out = StringIO()
    call_command(
        "addnode",
        "far",
        "tcp://127.0.0.1:9",
        "--publish-address",
        "10.0.0.9",
        "--external-fqdn",
        "far.example",
        "--no-check",
        stdout=out,
    )
    assert "registered node far" in out.getvalue()
    assert "does not answer" in out.getvalue()
    (item,) = objects(api.get(NODES))
    assert (item["name"], item["external_fqdn"], item["public_ip"]) == ("far", "far.example", "10.0.0.9")
    assert (item["docker_version"], item["cpu"], item["memory"]) == ("", None, None)

"""Nodes and containers in the 2015 shape against the real engine: the node's facts are the engine's own
(`docker info`), read at registration and by the sweep; the final CLI (tutum 0.21.1, unmodified) lists and
inspects nodes and lists, finds and redeploys containers."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.nodes.models import Node
from orchestrator import reconciler
from orchestrator.driver.base import LABEL_SERVICE

from .final_clients import final_cli, final_clients  # noqa: F401 (fixtures)
from .helpers import wait_for, wait_for_state
from .test_official_clients import short_uuid_shown, table

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _engine(docker_client) -> dict:
    info = docker_client.info()
    return {
        "docker_version": docker_client.version()["Version"],
        "docker_graphdriver": info["Driver"],
        "cpu": info["NCPU"],
        "memory": info["MemTotal"] // (1024 * 1024),
    }


def _facts(item: dict) -> dict:
    return {key: item[key] for key in ("docker_version", "docker_graphdriver", "cpu", "memory")}


def test_addnode_reads_the_engines_facts_and_the_sweep_renews_them(docker_client, api):
    out = StringIO()
    call_command("addnode", "local", settings.DOCKER_HOST, stdout=out)
    engine = _engine(docker_client)
    assert f"Docker {engine['docker_version']}, {engine['cpu']} CPUs" in out.getvalue()
    (item,) = api.get("/api/v1/node/").json()["objects"]
    assert _facts(item) == engine
    assert item["docker_execdriver"]  # the engine's runtime (runc) on engines without an execution driver

    # An engine upgraded in place: the next sweep of the node records what it says now.
    Node.objects.filter(name="local").update(docker_version="1.9.1", cpu=1, memory=512)
    reconciler.reconcile_node(Node.objects.get(name="local"))
    assert _facts(api.get(item["resource_uri"]).json()) == engine


def _run(api, name, target) -> dict:
    body = {
        "image": "local/busybox",
        "name": name,
        "target_num_containers": target,
        "run_command": "sleep 3600",
        "container_ports": [{"inner_port": "80", "protocol": "tcp", "published": True}],
    }
    response = api.post("/api/v1/service/", body, format="json")
    assert response.status_code == 201, response.content
    service = response.json()
    assert api.post(f"{service['resource_uri']}start/").status_code == 202
    return wait_for_state(api, service["resource_uri"], "Running", timeout=90)


def test_the_final_cli_lists_nodes_and_containers_and_redeploys_a_container(
    worker,
    docker_client,
    api,
    final_cli,  # noqa: F811
):
    service = _run(api, "web", 2)
    (node,) = api.get("/api/v1/node/").json()["objects"]  # the default node, registered by the worker
    engine = _engine(docker_client)
    assert _facts(node) == engine

    # -- node list: GET /node/ (no cluster to ask for: node_cluster is null).
    (row,) = table(final_cli.ok("node", "list"))
    assert short_uuid_shown(row["UUID"], node["uuid"]), row
    assert (row["FQDN"], row["STATUS"], row["CLUSTER"], row["DOCKER_VER"]) == (
        node["external_fqdn"],
        "▶ Deployed",
        "",
        engine["docker_version"],
    )
    assert row["LASTSEEN"].endswith("ago"), row

    # -- node inspect <short uuid>: resolved by uuid__startswith, then the detail.
    inspected = json.loads(final_cli.ok("node", "inspect", node["uuid"][:8]))
    assert inspected["uuid"] == node["uuid"] and inspected["docker_version"] == engine["docker_version"]

    # -- container ps: GET /container/, /stack/, /service/, /node/; every container's node is in the node list.
    containers = {c["uuid"]: c for c in api.get("/api/v1/container/").json()["objects"]}
    assert {c["node"] for c in containers.values()} == {node["resource_uri"]}
    for args in (("container", "ps"), ("container", "ps", "--service", "web")):
        rows = table(final_cli.ok(*args))
        assert len(rows) == 2, rows
        for row in rows:
            (container,) = [c for u, c in containers.items() if short_uuid_shown(row["UUID"], u)]
            assert (row["NAME"], row["STATUS"], row["IMAGE"]) == ("web", "▶ Running", "local/busybox:latest")
            assert short_uuid_shown(row["NODE"], node["uuid"]), row
            (port,) = container["container_ports"]
            assert isinstance(port["outer_port"], int)
            assert row["PORTS"] == f"{container['public_dns']}:{port['outer_port']}->80/tcp"[:17] + "..."

    # -- container inspect web-2: `?name=web-2` finds the container by its own name.
    second = json.loads(final_cli.ok("container", "inspect", "web-2"))
    assert (second["unique_name"], second["service"]) == ("web-2", service["resource_uri"])

    # -- container redeploy web-1: POST …/redeploy/?reuse_volumes=True, a new Docker container, same name.
    first = api.get("/api/v1/container/?name=web-1").json()["objects"][0]
    before = _docker_ids(docker_client, service["uuid"])
    assert final_cli.ok("container", "redeploy", "web-1").strip() == first["uuid"]
    wait_for(
        lambda: (
            _docker_ids(docker_client, service["uuid"]).keys() == before.keys()
            and _docker_ids(docker_client, service["uuid"]) != before
        ),
        timeout=60,
        message="web-1 replaced",
    )
    wait_for_state(api, first["resource_uri"], "Running", timeout=60)
    after = _docker_ids(docker_client, service["uuid"])
    web_1 = [name for name in after if name.endswith("web-1-alice")]
    assert web_1 and after[web_1[0]] != before[web_1[0]]
    assert [after[n] for n in after if n not in web_1] == [before[n] for n in before if n not in web_1]


def _docker_ids(docker_client, service_uuid) -> dict[str, str]:
    found = docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={service_uuid}"})
    return {c.name: c.id for c in found}

"""Many Docker hosts: two extra engines on this machine beside the main one, one on a unix socket and one
over TCP with TLS client certificates made here. Registration through the API (and its 400s), placement by
HIGH_AVAILABILITY, EVERY_NODE and tags, checked in each engine; a node whose engine stops (its healing
containers run elsewhere, its stale copies are removed when it is back). The engines live for this module only and
are removed (bridges, data roots) even when a test fails."""

import pytest
from django.conf import settings

from apps.containers.models import Container
from orchestrator.driver.base import LABEL_INSTANCE

from .engines import Certificates, SecondEngine
from .final_clients import final_cli, final_clients  # noqa: F401 (fixtures)
from .helpers import free_port, wait_for, wait_for_state
from .test_official_clients import table

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NODES = "/api/v1/node/"
SERVICES = "/api/v1/service/"
SLEEPER = {"image": "local/busybox", "run_command": "sleep 3600"}


@pytest.fixture(scope="module")
def engines(docker_client):
    """`plain` on a unix socket, `tls` on tcp://127.0.0.1 with TLS (its `tls` the certificates)."""
    instance = settings.TUTUM_INSTANCE
    octet = sum(map(ord, instance)) % 50
    plain = SecondEngine(f"p{instance}"[:8], subnet_octet=100 + octet)
    tls = SecondEngine(f"t{instance}"[:8], subnet_octet=150 + octet, tls=Certificates(), tcp_port=free_port())
    try:
        for engine in (plain, tls):
            engine.destroy()
            engine.start()
            engine.load_image(docker_client, "local/busybox:latest")
        yield plain, tls
    finally:
        for engine in (plain, tls):
            engine.destroy()


@pytest.fixture
def staff(make_user, make_client):
    admin = make_user("root")
    admin.is_staff = True
    admin.save()
    return make_client(admin)


@pytest.fixture
def clean_engines(engines):
    yield engines
    for engine in engines:
        for container in engine.client().containers.list(
            all=True, filters={"label": f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}"}
        ):
            container.remove(force=True)


def register(staff, engine, name, tags=(), **extra):
    body = {"name": name, "docker_host": engine.url, "tags": [{"name": t} for t in tags], **extra}
    if engine.tls and "docker_host" not in extra:
        tls = engine.tls
        body.update(docker_host=engine.tcp_url, tls_ca=tls.ca, tls_cert=tls.client_cert, tls_key=tls.client_key)
    return staff.post(NODES, body, format="json")


def start_service(api, name, target, **fields):
    body = {**SLEEPER, "name": name, "target_num_containers": target, **fields}
    created = api.post(SERVICES, body, format="json")
    assert created.status_code == 201, created.content
    uri = created.json()["resource_uri"]
    assert api.post(f"{uri}start/").status_code == 202
    return uri


def running_per_engine(engines_by_node, service_uuid):
    """How many of the service's containers each engine really runs, by node name."""
    counts = {}
    for name, client in engines_by_node.items():
        labels = [f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}", f"tutum.service={service_uuid}"]
        counts[name] = len(client.containers.list(filters={"label": labels}))
    return counts


def test_registration_checks_the_engine_and_its_certificates(worker, staff, api, clean_engines):
    plain, tls = clean_engines
    response = register(staff, tls, "tls-node", tags=["tls"])
    assert response.status_code == 201, response.content
    node = response.json()
    assert node["state"] == "Deployed" and node["docker_version"]
    assert not {"tls_ca", "tls_cert", "tls_key"} & set(node)

    stranger = Certificates("another-ca")
    wrong = {"tls_ca": tls.tls.ca, "tls_cert": stranger.client_cert, "tls_key": stranger.client_key}
    refused = register(staff, tls, "wrong-cert", docker_host=tls.tcp_url, **wrong)
    assert refused.status_code == 400
    assert "does not answer" in refused.json()["fields"]["docker_host"][0]

    untrusted = {"tls_ca": stranger.ca, "tls_cert": tls.tls.client_cert, "tls_key": tls.tls.client_key}
    assert register(staff, tls, "wrong-ca", docker_host=tls.tcp_url, **untrusted).status_code == 400
    assert register(staff, tls, "no-tls", docker_host=tls.tcp_url).status_code == 400
    assert register(staff, plain, "nobody", docker_host=f"tcp://127.0.0.1:{free_port()}").status_code == 400
    names = {n["name"] for n in api.get(NODES).json()["objects"]}
    assert "tls-node" in names and not names & {"wrong-cert", "wrong-ca", "no-tls", "nobody"}

    # The worker reaches the TLS engine with the stored certificates: a container runs there.
    uri = start_service(api, "over-tls", 1, tags=[{"name": "tls"}])
    wait_for_state(api, uri, "Running", timeout=90)
    service_uuid = api.get(uri).json()["uuid"]
    assert running_per_engine({"tls": tls.client()}, service_uuid) == {"tls": 1}


def test_high_availability_spreads_over_three_nodes(worker, staff, api, docker_client, clean_engines):
    plain, tls = clean_engines
    assert register(staff, plain, "plain").status_code == 201
    assert register(staff, tls, "tls").status_code == 201

    uri = start_service(api, "spread", 6, deployment_strategy="HIGH_AVAILABILITY")
    containers = api.get("/api/v1/container/", {"service": uri}).json()["objects"]
    assert all(c["node"] for c in containers)  # placed as soon as they exist
    wait_for_state(api, uri, "Running", timeout=120)
    service_uuid = api.get(uri).json()["uuid"]
    by_node = {"default": docker_client, "plain": plain.client(), "tls": tls.client()}
    assert running_per_engine(by_node, service_uuid) == {"default": 2, "plain": 2, "tls": 2}
    per_row = sorted(Container.objects.filter(service__uuid=service_uuid).values_list("node__name", flat=True))
    assert per_row == ["default", "default", "plain", "plain", "tls", "tls"]


def test_every_node_follows_a_joining_node_and_tags_choose_nodes(worker, staff, api, docker_client, clean_engines):
    plain, tls = clean_engines
    assert register(staff, plain, "plain", tags=["fast"]).status_code == 201

    everywhere = start_service(api, "everywhere", 1, deployment_strategy="EVERY_NODE")
    fast = start_service(api, "fast", 2, tags=[{"name": "fast"}])
    wait_for_state(api, everywhere, "Running", timeout=90)
    wait_for_state(api, fast, "Running", timeout=90)
    every_uuid, fast_uuid = (api.get(uri).json()["uuid"] for uri in (everywhere, fast))
    assert api.get(everywhere).json()["target_num_containers"] == 2
    assert running_per_engine({"default": docker_client, "plain": plain.client()}, fast_uuid) == {
        "default": 0,
        "plain": 2,
    }

    assert register(staff, tls, "tls").status_code == 201  # a node joins: the service follows it

    def on_every_node():
        counts = running_per_engine(
            {"default": docker_client, "plain": plain.client(), "tls": tls.client()}, every_uuid
        )
        return counts if counts == {"default": 1, "plain": 1, "tls": 1} else None

    wait_for(on_every_node, timeout=90, message="one container of the EVERY_NODE service on each of 3 nodes")
    assert api.get(everywhere).json()["target_num_containers"] == 3


LOST_AFTER = 10


@pytest.fixture
def quick_loss_worker(worker, settings):
    """The suite's worker with TUTUM_NODE_LOST_AFTER_SECONDS shortened for the test (and back after it)."""
    suite_env = worker.env
    worker.stop()
    worker.env = {**suite_env, "TUTUM_NODE_LOST_AFTER_SECONDS": str(LOST_AFTER)}
    worker.start()
    settings.TUTUM_NODE_LOST_AFTER_SECONDS = LOST_AFTER
    yield worker
    worker.stop()
    worker.env = suite_env
    worker.start()


def test_a_lost_node_s_containers_run_elsewhere_and_its_stale_copies_go(
    quick_loss_worker, staff, api, docker_client, clean_engines
):
    import time

    plain, _ = clean_engines
    assert register(staff, plain, "plain").status_code == 201
    uri = start_service(api, "healing", 4, deployment_strategy="HIGH_AVAILABILITY", autorestart="ALWAYS")
    wait_for_state(api, uri, "Running", timeout=90)
    service_uuid = api.get(uri).json()["uuid"]
    assert running_per_engine({"default": docker_client, "plain": plain.client()}, service_uuid) == {
        "default": 2,
        "plain": 2,
    }
    names = sorted(Container.objects.filter(service__uuid=service_uuid).values_list("unique_name", flat=True))

    plain.stop()
    stopped_at = time.monotonic()
    plain_uri = next(n["resource_uri"] for n in api.get(NODES).json()["objects"] if n["name"] == "plain")
    wait_for(lambda: api.get(plain_uri).json()["state"] == "Unreachable", timeout=15, message="node Unreachable")

    def all_on_default():
        running = running_per_engine({"default": docker_client}, service_uuid)["default"]
        return running == 4 and api.get(uri).json()["state"] == "Running"

    wait_for(all_on_default, timeout=LOST_AFTER + 5 + 5, message="the lost node's containers running on the other")
    print(f"\n[many hosts] engine stopped -> its containers running elsewhere: {time.monotonic() - stopped_at:.1f}s")
    rows = Container.objects.filter(service__uuid=service_uuid).exclude(state="Terminated")
    assert sorted(rows.values_list("unique_name", flat=True)) == names  # the same containers, the same names
    assert set(rows.values_list("node__name", flat=True)) == {"default"}

    plain.start()
    labels = [f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}", f"tutum.service={service_uuid}"]
    wait_for(
        lambda: not plain.client().containers.list(all=True, filters={"label": labels}),
        timeout=30,
        message="the stale copies removed from the node that came back",
    )
    wait_for(lambda: api.get(plain_uri).json()["state"] == "Deployed", timeout=15, message="node Deployed again")
    assert running_per_engine({"default": docker_client, "plain": plain.client()}, service_uuid) == {
        "default": 4,
        "plain": 0,
    }


def test_the_final_cli_lists_nodes_of_a_cluster_and_containers_on_several(
    worker,
    staff,
    api,
    clean_engines,
    final_cli,  # noqa: F811
):
    plain, _ = clean_engines
    node = register(staff, plain, "plain").json()
    created = staff.post("/api/v1/nodecluster/", {"name": "rack", "nodes": [node["resource_uri"]]}, format="json")
    assert created.status_code == 201
    uri = start_service(api, "web", 2, deployment_strategy="HIGH_AVAILABILITY")
    wait_for_state(api, uri, "Running", timeout=90)

    # node list: GET /node/, then GET /nodecluster/<uuid>/ for each node in one, for its name.
    rows = {row["UUID"][:8]: row for row in table(final_cli.ok("node", "list"))}
    assert rows[node["uuid"][:8]]["CLUSTER"] == "rack"
    assert [row["CLUSTER"] for key, row in rows.items() if key != node["uuid"][:8]] == [""]
    # container ps: every container's node is in the node list, on two nodes.
    ps = table(final_cli.ok("container", "ps"))
    assert len(ps) == 2 and len({row["NODE"] for row in ps}) == 2


def test_deleting_a_node_drains_it_onto_the_others(worker, staff, api, docker_client, clean_engines):
    plain, _ = clean_engines
    node = register(staff, plain, "plain").json()
    uri = start_service(api, "drained", 4, deployment_strategy="HIGH_AVAILABILITY")
    wait_for_state(api, uri, "Running", timeout=90)
    service_uuid = api.get(uri).json()["uuid"]
    by_node = {"default": docker_client, "plain": plain.client()}
    assert running_per_engine(by_node, service_uuid) == {"default": 2, "plain": 2}

    response = staff.delete(node["resource_uri"])
    assert response.status_code == 202 and response.json()["state"] == "Terminating"
    wait_for(lambda: api.get(node["resource_uri"]).json()["state"] == "Terminated", timeout=60, message="drained")
    wait_for_state(api, uri, "Running", timeout=60)
    assert running_per_engine(by_node, service_uuid) == {"default": 4, "plain": 0}
    assert api.get(uri).json()["current_num_containers"] == 4

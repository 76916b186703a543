"""Nodes as the API writes them: every container has its node in the API as soon as it exists (placed when
its row is created, by the service's strategy and tags)."""

import pytest

from apps.nodes import placement
from apps.nodes.models import Node
from apps.services.models import Service

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/service/"
CONTAINERS = "/api/v1/container/"


@pytest.fixture
def nodes():
    default = placement.default_node()
    other = Node.objects.create(name="other", docker_host="tcp://192.0.2.9:2376", tags=["ssd"])
    return default, other


def _containers(api, service_uri):
    objects = api.get(CONTAINERS, {"service": service_uri, "limit": 100}).json()["objects"]
    return [c for c in objects if c["state"] != "Terminated"]


def test_a_container_has_its_node_right_after_create_start_and_scale(api, nodes):
    body = {"image": "tutum/hello-world", "name": "web", "target_num_containers": 2}
    body["deployment_strategy"] = "HIGH_AVAILABILITY"
    created = api.post(SERVICES, body, format="json").json()
    uri = created["resource_uri"]
    assert api.post(f"{uri}start/").status_code == 202

    first = _containers(api, uri)
    assert len(first) == 2
    assert all(c["node"] for c in first)
    assert len({c["node"] for c in first}) == 2  # spread over both nodes

    Service.objects.filter(uuid=created["uuid"]).update(state="Running")  # as the worker leaves it
    assert api.patch(uri, {"target_num_containers": 5}, format="json").status_code == 200
    assert api.post(f"{uri}scale/").status_code == 202
    scaled = _containers(api, uri)
    assert len(scaled) == 5
    assert all(c["node"] for c in scaled)


def test_a_2014_create_places_its_containers_at_once(api, nodes):
    _, other = nodes
    body = {"image": "tutum/hello-world", "name": "old", "target_num_containers": 3}
    created = api.post("/api/v1/application/", body, format="json")
    assert created.status_code == 202
    containers = api.get(CONTAINERS, {"limit": 100}).json()["objects"]
    assert len(containers) == 3
    assert all(c["node"] for c in containers)


def test_tags_place_on_the_tagged_node_and_no_match_fails_the_start(api, nodes):
    _, other = nodes
    tagged = {"image": "tutum/hello-world", "name": "fast", "target_num_containers": 2, "tags": [{"name": "ssd"}]}
    uri = api.post(SERVICES, tagged, format="json").json()["resource_uri"]
    api.post(f"{uri}start/")
    assert {c["node"] for c in _containers(api, uri)} == {f"/api/v1/node/{other.uuid}/"}

    nowhere = {"image": "tutum/hello-world", "name": "gpu", "tags": [{"name": "gpu"}]}
    uri = api.post(SERVICES, nowhere, format="json").json()["resource_uri"]
    api.post(f"{uri}start/")
    (container,) = _containers(api, uri)
    assert container["state"] == "Start failed"
    assert container["node"] is None


# ---------------------------------------------------------------- registering, changing, draining nodes

NODES = "/api/v1/node/"
FACTS = {"docker_version": "27.5.1", "docker_graphdriver": "overlay2", "docker_execdriver": "runc", "cpu": 2}
PEMS = {"tls_ca": "-----CA-----\n", "tls_cert": "-----CERT-----\n", "tls_key": "-----SECRET KEY-----\n"}
probed = []


def fake_probe(docker_host, ca, cert, key):
    """The engine check, without an engine: tcp://…:9 never answers, a key saying "refused" is refused."""
    from apps.nodes.services import EngineRefused

    probed.append((docker_host, ca, cert, key))
    if docker_host.endswith(":9"):
        raise EngineRefused("does not answer: connection refused")
    if "refused" in key:
        raise EngineRefused("does not answer: tls: bad certificate")
    return dict(FACTS, memory=1024, disk=None)


@pytest.fixture
def staff_api(make_user, make_client, settings):
    settings.TUTUM_ENGINE_PROBE = "tests.api.test_nodes_write.fake_probe"
    probed.clear()
    admin = make_user("root")
    admin.is_staff = True
    admin.save()
    return make_client(admin)


def test_only_staff_write_nodes(api, nodes, settings):
    settings.TUTUM_ENGINE_PROBE = "tests.api.test_nodes_write.fake_probe"
    _, other = nodes
    uri = f"{NODES}{other.uuid}/"
    assert api.get(uri).status_code == 200
    body = {"name": "n", "docker_host": "tcp://10.0.0.1:2376"}
    for response in (api.post(NODES, body, format="json"), api.patch(uri, {"nickname": "x"}, format="json")):
        assert response.status_code == 403
        assert "Only staff" in response.json()["error"]
    assert api.delete(uri).status_code == 403
    assert Node.objects.get(pk=other.pk).state == "Deployed"


def test_staff_register_a_tls_engine_whose_certificates_are_never_answered(staff_api):
    body = {"name": "far", "docker_host": "tcp://10.0.0.1:2376", "tags": [{"name": "eu"}], **PEMS}
    response = staff_api.post(NODES, body, format="json")
    assert response.status_code == 201, response.json()
    item = response.json()
    assert (item["name"], item["state"], item["docker_version"], item["tags"]) == (
        "far",
        "Deployed",
        "27.5.1",
        [{"name": "eu"}],
    )
    assert not {"tls_ca", "tls_cert", "tls_key"} & set(item)
    assert "SECRET" not in str(staff_api.get(f"{NODES}{item['uuid']}/").json())
    assert probed == [("tcp://10.0.0.1:2376", PEMS["tls_ca"], PEMS["tls_cert"], PEMS["tls_key"])]
    node = Node.objects.get(name="far")
    assert "SECRET" not in node.tls_key  # encrypted at rest
    from apps.actions.models import Action

    assert not Action.objects.filter(body__contains="SECRET").exists()  # nor kept in the action log
    assert node.tls_pems() == (PEMS["tls_ca"], PEMS["tls_cert"], PEMS["tls_key"])


@pytest.mark.parametrize(
    "body, key, says",
    [
        ({"docker_host": "tcp://10.0.0.1:9"}, "docker_host", "does not answer: connection refused"),
        ({"docker_host": "tcp://10.0.0.1:2376", **PEMS, "tls_key": "refused"}, "docker_host", "bad certificate"),
        ({"docker_host": "http://10.0.0.1"}, "docker_host", "tcp://host:port"),
        ({"docker_host": "tcp://10.0.0.1:2376", "tls_cert": "x"}, "tls", "or none"),
        ({"docker_host": "unix:///var/run/docker.sock", **PEMS}, "tls", "tcp://"),
        ({"docker_host": "tcp://10.0.0.1:2376", "tags": [{"name": "no spaces"}]}, "tags", ""),
    ],
)
def test_an_engine_that_cannot_be_used_is_a_400_saying_why(staff_api, body, key, says):
    response = staff_api.post(NODES, {"name": "bad", **body}, format="json")
    assert response.status_code == 400
    assert says in str(response.json()["fields"][key])
    assert not Node.objects.filter(name="bad").exists()


def test_patch_sets_tags_and_nickname_only(staff_api, nodes):
    _, other = nodes
    uri = f"{NODES}{other.uuid}/"
    response = staff_api.patch(uri, {"tags": [{"name": "ssd"}, {"name": "eu"}], "nickname": "rack 2"}, format="json")
    assert response.status_code == 200
    assert (response.json()["tags"], response.json()["nickname"]) == ([{"name": "eu"}, {"name": "ssd"}], "rack 2")
    refused = staff_api.patch(uri, {"docker_host": "tcp://1.2.3.4:1"}, format="json")
    assert refused.status_code == 400
    assert Node.objects.get(pk=other.pk).docker_host == "tcp://192.0.2.9:2376"


def test_delete_drains_the_node_onto_the_others(staff_api, user, nodes):
    from tests.api.app_support import CS, make_application

    default, other = nodes
    web = make_application(user, "web", containers=2, container_state=CS.RUNNING)
    web.containers.update(node=other)
    idle = make_application(user, "idle", state="Stopped", containers=1, container_state=CS.STOPPED)
    idle.containers.update(node=other)

    response = staff_api.delete(f"{NODES}{other.uuid}/")
    assert response.status_code == 202
    assert response.json()["state"] == "Terminating"
    other.refresh_from_db()
    assert other.schedulable is False
    assert set(other.containers.values_list("state", flat=True)) == {CS.TERMINATING}
    assert sorted(web.containers.filter(node=default).values_list("number", "state")) == [
        (3, CS.STARTING),
        (4, CS.STARTING),
    ]
    assert list(idle.containers.filter(node=default).values_list("state", flat=True)) == [CS.STOPPED]

    from apps.nodes.services import finish_drain

    assert finish_drain(other.pk) is False  # its containers are not gone yet
    other.containers.update(state=CS.TERMINATED)
    assert finish_drain(other.pk) is True
    item = staff_api.get(f"{NODES}{other.uuid}/").json()
    assert item["state"] == "Terminated" and item["destroyed_datetime"]


def test_addnode_checks_the_engine_unless_told_not_to(settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.TUTUM_ENGINE_PROBE = "tests.api.test_nodes_write.fake_probe"
    with pytest.raises(CommandError, match="does not answer"):
        call_command("addnode", "far", "tcp://127.0.0.1:9", stdout=StringIO())
    for name, pem in PEMS.items():
        (tmp_path / name).write_text(pem)
    out = StringIO()
    files = [f"--{name.replace('_', '-')}={tmp_path / name}" for name in PEMS]
    call_command("addnode", "tls", "tcp://127.0.0.1:2376", "--tag", "eu", *files, stdout=out)
    assert "registered node tls" in out.getvalue() and "Docker 27.5.1" in out.getvalue()
    assert Node.objects.get(name="tls").tls_pems()[2] == PEMS["tls_key"]
    assert "SECRET" not in out.getvalue()

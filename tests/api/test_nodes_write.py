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

"""/api/v1/nodecluster/ (named groups of registered nodes, state from their nodes), the "byo" provider
catalogue (provider, region, nodetype, az) and /api/v1/tag/."""

import pytest

from apps.nodes import placement
from apps.nodes.models import Node, NodeState
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db

CLUSTERS = "/api/v1/nodecluster/"
CLUSTER_KEYS = {
    "uuid",
    "resource_uri",
    "name",
    "state",
    "node_type",
    "region",
    "disk",
    "nodes",
    "target_num_nodes",
    "current_num_nodes",
    "deployed_datetime",
    "destroyed_datetime",
    "tags",
    "provider_options",
    "nickname",
}


@pytest.fixture
def staff(make_user, make_client):
    admin = make_user("root")
    admin.is_staff = True
    admin.save()
    return make_client(admin)


@pytest.fixture
def two():
    a = Node.objects.create(name="a", docker_host="tcp://192.0.2.1:2376", tags=["ssd"])
    b = Node.objects.create(name="b", docker_host="tcp://192.0.2.2:2376")
    return a, b


def node_ref(node):
    return f"/api/v1/node/{node.uuid}/"


def test_a_cluster_groups_nodes_and_its_state_follows_them(staff, api, two):
    a, b = two
    body = {"name": "rack", "nodes": [node_ref(a), node_ref(b)], "tags": [{"name": "eu"}]}
    body |= {"region": "/api/v1/region/byo/byo/", "node_type": "/api/v1/nodetype/byo/byo/", "target_num_nodes": 2}
    response = staff.post(CLUSTERS, body, format="json")
    assert response.status_code == 201, response.json()
    cluster = response.json()
    assert set(cluster) == CLUSTER_KEYS
    assert (cluster["state"], cluster["target_num_nodes"], cluster["current_num_nodes"]) == ("Deployed", 2, 2)
    assert sorted(cluster["nodes"]) == sorted([node_ref(a), node_ref(b)])
    assert cluster["region"] == "/api/v1/region/byo/byo/" and cluster["tags"] == [{"name": "eu"}]

    # What `tutum node list` reads: the node's cluster URI, then that cluster for its name.
    node = api.get(node_ref(a)).json()
    assert node["node_cluster"] == cluster["resource_uri"]
    assert api.get(node["node_cluster"]).json()["name"] == "rack"
    assert [n["name"] for n in api.get("/api/v1/node/", {"node_cluster": cluster["uuid"]}).json()["objects"]] == [
        "a",
        "b",
    ]

    Node.objects.filter(pk=a.pk).update(state=NodeState.UNREACHABLE)
    assert api.get(cluster["resource_uri"]).json()["state"] == "Partly deployed"
    Node.objects.filter(pk=b.pk).update(state=NodeState.UNREACHABLE)
    assert api.get(cluster["resource_uri"]).json()["state"] == "Unreachable"

    patched = staff.patch(cluster["resource_uri"], {"nodes": [], "tags": []}, format="json").json()
    assert (patched["state"], patched["nodes"]) == ("Empty cluster", [])
    assert api.get(node_ref(a)).json()["node_cluster"] is None

    assert staff.delete(cluster["resource_uri"]).json()["state"] == "Terminated"
    assert Node.objects.count() == 2  # the nodes stay


def test_cluster_tags_count_for_placement_and_are_listed(staff, api, user, two):
    a, b = two
    staff.post(CLUSTERS, {"name": "gpu", "nodes": [node_ref(b)], "tags": [{"name": "gpu"}]}, format="json")
    service = make_application(user, "train", containers=0, tags=["gpu"])
    assert [n.name for n in placement.pick(service, 2)] == ["b", "b"]

    tags = api.get("/api/v1/tag/").json()
    assert tags["objects"] == [{"name": "gpu", "origin": "user"}, {"name": "ssd", "origin": "user"}]
    assert api.get("/api/v1/tag/", {"name": "ssd"}).json()["meta"]["total_count"] == 1


def test_only_staff_change_clusters_and_bad_input_is_a_400(staff, api, two):
    a, _ = two
    assert api.post(CLUSTERS, {"name": "x"}, format="json").status_code == 403
    assert staff.post(CLUSTERS, {"name": "x", "nodes": ["/api/v1/node/nope/"]}, format="json").status_code == 400
    missing = "/api/v1/node/00000000-0000-0000-0000-000000000000/"
    assert staff.post(CLUSTERS, {"name": "x", "nodes": [missing]}, format="json").status_code == 400
    assert staff.post(CLUSTERS, {"name": "x", "nodes": [node_ref(a)]}, format="json").status_code == 201
    assert staff.post(CLUSTERS, {"name": "x"}, format="json").status_code == 400  # the name is taken
    assert api.get(f"{CLUSTERS}00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize(
    "path, key",
    [
        ("/api/v1/provider/", "regions"),
        ("/api/v1/region/", "node_types"),
        ("/api/v1/nodetype/", "regions"),
        ("/api/v1/az/", "region"),
    ],
)
def test_the_catalogue_is_one_byo_entry(api, path, key):
    listed = api.get(path).json()
    assert listed["meta"]["total_count"] == 1
    (entry,) = listed["objects"]
    assert entry["name"] == "byo" and key in entry
    assert api.get(entry["resource_uri"]).json() == entry
    depth = entry["resource_uri"].count("byo")
    assert api.get(path + "aws/" * depth).status_code == 404


def test_the_node_list_asks_once_for_the_clusters(api, django_assert_max_num_queries, staff, two):
    staff.post(CLUSTERS, {"name": "rack", "nodes": [node_ref(n) for n in two]}, format="json")
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/node/").json()["objects"]) == 2
    with django_assert_max_num_queries(6):
        assert len(api.get(CLUSTERS).json()["objects"]) == 1

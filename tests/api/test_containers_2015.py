"""The container resource as both generations read it: every 2014 key, the 2015 keys beside them, the 2015
filters the final clients send, and `POST …/redeploy/?reuse_volumes=`. On Postgres, no worker, no Docker."""

import re
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.containers.models import ContainerPort
from apps.nodes.models import Node
from apps.services.models import Service, ServiceBinding, ServiceLink
from apps.stacks.models import Stack

from .app_support import (
    AS,
    CONTAINER_2015_DETAIL_KEYS,
    CONTAINER_2015_KEYS,
    CONTAINER_2015_PORT_KEYS,
    CONTAINER_DETAIL_KEYS,
    CONTAINER_LIST_KEYS,
    CONTAINER_PORT_KEYS,
    CS,
    EXTRA_KEYS,
    container_uri,
    make_application,
    set_state,
    woken,
)

pytestmark = pytest.mark.django_db

CONTAINERS = "/api/v1/container/"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def node():
    return Node.objects.create(name="node-1", docker_host="tcp://127.0.0.1:1", publish_address="127.0.0.1")


@pytest.fixture
def web(user, node):
    app = make_application(user, "web", containers=2, memory=512, cpu_shares=512, labels={"tier": "front"})
    app.containers.update(node=node, private_ip="172.17.0.5")
    return app


def objects(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["objects"]


def names(response) -> list[str]:
    return [row["unique_name"] for row in objects(response)]


# ---------------------------------------------------------------- shape


def test_list_objects_carry_every_2014_key_and_the_2015_ones(api, web, node):
    (first, second) = objects(api.get(CONTAINERS))
    for item in (first, second):
        assert set(item) == CONTAINER_LIST_KEYS | EXTRA_KEYS | CONTAINER_2015_KEYS
    container = web.containers.get(number=1)
    assert first["uuid"] == str(container.uuid)
    assert first["service"] == f"/api/v1/service/{web.uuid}/"
    assert first["application"] == f"/api/v1/application/{web.uuid}/"
    assert first["node"] == f"/api/v1/node/{node.uuid}/"
    assert first["private_ip"] == "172.17.0.5"
    assert first["synchronized"] is True
    assert first["last_metric"] is None
    assert first["name"] == "web"  # the 2014 `name` is the service's; unique_name is the container's
    assert first["unique_name"] == "web-1"
    assert (first["memory"], first["cpu_shares"], first["memory_swap"]) == (512, 512, None)
    assert first["labels"] == {"tier": "front"}
    assert (first["net"], first["pid"], first["privileged"], first["read_only"]) == ("bridge", "none", False, False)
    for key in ("dns", "dns_search", "cap_add", "cap_drop", "devices", "extra_hosts", "security_opt"):
        assert first[key] == [], key
    for key in ("working_dir", "user", "hostname", "domainname", "mac_address", "cgroup_parent", "cpuset"):
        assert first[key] == "", key
    assert (first["tty"], first["stdin_open"]) == (False, False)
    assert first["image_tag"] == "/api/v1/image/tutum/hello-world/tag/latest/"


def test_the_detail_adds_links_and_volumes(api, user, web, node):
    db = make_application(user, "db", containers=1, ports=(5432,))
    db.containers.update(node=node, private_ip="172.17.0.9")
    ServiceLink.objects.create(from_service=web, to_service=db, name="database")
    ServiceBinding.objects.create(service=web, container_path="/data")
    ServiceBinding.objects.create(service=web, host_path="/srv/logs", container_path="/logs", rewritable=False)
    ServiceBinding.objects.create(service=web, volumes_from=db)
    container = web.containers.get(number=1)
    target = db.containers.get()

    body = api.get(container_uri(container)).json()

    assert set(body) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    assert body["linked_to_container"] == [
        {
            "name": "DATABASE_1",
            "from_container": container_uri(container),
            "to_container": container_uri(target),
            "endpoints": {"5432/tcp": "tcp://172.17.0.9:5432"},
        }
    ]
    assert body["bindings"] == [
        {"host_path": None, "container_path": "/data", "rewritable": True, "volume": None},
        {"host_path": "/srv/logs", "container_path": "/logs", "rewritable": False, "volume": None},
    ]


def test_a_2014_link_reaches_the_linked_containers_at_their_published_ports(api, user, web):
    db = make_application(user, "db", containers=1, ports=(5432,))
    ServiceLink.objects.create(from_service=web, to_service=db)
    target = db.containers.get()
    outer = target.ports.get().outer_port
    dns = f"db-1-alice.{settings.TUTUM_PUBLIC_DOMAIN}"

    (link,) = api.get(container_uri(web.containers.get(number=1))).json()["linked_to_container"]

    assert (link["name"], link["endpoints"]) == ("DB_1", {"5432/tcp": f"tcp://{dns}:{outer}"})


def test_ports_always_have_integer_ports_an_outer_port_key_and_their_endpoint(api, user, web):
    container = web.containers.get(number=1)
    ContainerPort.objects.create(container=container, inner_port=9000, protocol="udp")  # not published
    item = api.get(container_uri(container)).json()
    http, unpublished = item["container_ports"]
    for port in (http, unpublished):
        assert set(port) == CONTAINER_PORT_KEYS | CONTAINER_2015_PORT_KEYS
        assert type(port["inner_port"]) is int
    outer = container.ports.get(inner_port=80).outer_port
    assert type(http["outer_port"]) is int and http["outer_port"] == outer
    assert http == {
        "container": container_uri(container),
        "inner_port": 80,
        "outer_port": outer,
        "protocol": "tcp",
        "port_name": "http",
        "uri_protocol": "http",
        "endpoint_uri": f"http://{item['public_dns']}:{outer}/",
        "published": True,
    }
    assert unpublished == {
        "container": container_uri(container),
        "inner_port": 9000,
        "outer_port": None,
        "protocol": "udp",
        "port_name": "",
        "uri_protocol": "udp",
        "endpoint_uri": None,
        "published": False,
    }


def test_a_container_not_yet_placed_has_no_node_and_no_private_ip(api, user):
    make_application(user, "new", state=AS.STARTING, containers=1, container_state=CS.STARTING)
    (item,) = objects(api.get(CONTAINERS))
    assert (item["node"], item["private_ip"]) == (None, None)


def test_every_placed_container_names_a_node_of_the_node_list(api, user, other_user, web, node):
    second = Node.objects.create(name="node-2", docker_host="tcp://127.0.0.1:2")
    db = make_application(user, "db", containers=3)
    db.containers.update(node=second)
    make_application(other_user, "theirs").containers.update(node=second)

    listed_nodes = {n["resource_uri"]: n["uuid"] for n in objects(api.get("/api/v1/node/"))}
    containers = objects(api.get(CONTAINERS))

    assert len(containers) == 5
    assert {c["node"] for c in containers} == {f"/api/v1/node/{node.uuid}/", f"/api/v1/node/{second.uuid}/"}
    assert {c["node"] for c in containers} <= set(listed_nodes)
    assert all(UUID4.match(u) for u in listed_nodes.values())


def test_synchronized_is_the_services(api, web):
    Service.objects.filter(pk=web.pk).update(synchronized=False)
    assert {c["synchronized"] for c in objects(api.get(CONTAINERS))} == {False}
    assert api.get(container_uri(web.containers.first())).json()["synchronized"] is False


# ---------------------------------------------------------------- filters


def test_filter_by_service_uri_as_the_final_clients_send_it(api, user, web):
    make_application(user, "db", containers=1)
    uri = f"/api/v1/service/{web.uuid}/"
    assert names(api.get(CONTAINERS, {"service": uri})) == ["web-1", "web-2"]
    # The 2014 URI of the same object, and one without the last slash, name the same service.
    assert names(api.get(CONTAINERS, {"service": f"/api/v1/application/{web.uuid}/"})) == ["web-1", "web-2"]
    assert names(api.get(CONTAINERS, {"service": uri.rstrip("/")})) == ["web-1", "web-2"]
    assert names(api.get(CONTAINERS, {"service": f"/api/v1/service/{uuid.uuid4()}/"})) == []


@pytest.mark.parametrize("value", ["web", str(uuid.uuid4()), "/api/v1/node/00000000-0000-4000-8000-000000000000/"])
def test_a_service_filter_that_is_no_service_uri_is_a_400_naming_it(api, web, value):
    response = api.get(CONTAINERS, {"service": value})
    assert response.status_code == 400
    assert response.json()["error"].startswith("service: ")


def test_filter_by_node_uri(api, user, web, node):
    other = Node.objects.create(name="node-2", docker_host="tcp://127.0.0.1:2")
    make_application(user, "db", containers=1).containers.update(node=other)
    assert names(api.get(CONTAINERS, {"node": f"/api/v1/node/{node.uuid}/"})) == ["web-1", "web-2"]
    assert names(api.get(CONTAINERS, {"node": f"/api/v1/node/{other.uuid}/"})) == ["db-1"]
    response = api.get(CONTAINERS, {"node": "node-1"})
    assert response.status_code == 400 and response.json()["error"].startswith("node: ")


def test_filter_by_stack_name_of_the_service(api, user, web):
    stack = Stack.objects.create(owner=user, name="shop")
    db = make_application(user, "db", containers=1, stack=stack)
    assert names(api.get(CONTAINERS, {"service__stack__name": "shop"})) == ["db-1"]
    # `container ps` of `db.shop`: name plus stack name.
    assert names(api.get(CONTAINERS, {"name": "db-1", "service__stack__name": "shop"})) == ["db-1"]
    assert names(api.get(CONTAINERS, {"service__stack__name": "other"})) == []
    assert db.containers.count() == 1


def test_name_matches_the_service_name_or_the_containers_unique_name(api, user, web):
    make_application(user, "db", containers=1)
    assert names(api.get(CONTAINERS, {"name": "web"})) == ["web-1", "web-2"]  # 2014: the service's name
    assert names(api.get(CONTAINERS, {"name": "web-2"})) == ["web-2"]  # 2015 CLI: `tutum container stop web-2`
    assert names(api.get(CONTAINERS, {"name": "web-3"})) == []


def test_state_uuid_and_uuid_prefix_filters(api, web):
    first, second = web.containers.order_by("number")
    set_state(second, CS.STOPPED)
    assert names(api.get(CONTAINERS, {"state": "Stopped"})) == ["web-2"]
    assert names(api.get(CONTAINERS, {"uuid": str(first.uuid)})) == ["web-1"]
    assert names(api.get(CONTAINERS, {"uuid__startswith": str(second.uuid)[:8]})) == ["web-2"]
    assert api.get(CONTAINERS, {"state": "Sleeping"}).status_code == 400


def test_another_users_containers_never_match(api, other_user, node):
    theirs = make_application(other_user, "web", containers=1)
    theirs.containers.update(node=node)
    assert names(api.get(CONTAINERS, {"service": f"/api/v1/service/{theirs.uuid}/"})) == []
    assert names(api.get(CONTAINERS, {"node": f"/api/v1/node/{node.uuid}/"})) == []
    assert names(api.get(CONTAINERS, {"name": "web-1"})) == []


# ---------------------------------------------------------------- redeploy


@pytest.mark.parametrize(
    ("query", "reuse"), [("", True), ("True", True), ("true", True), ("False", False), ("false", False)]
)
def test_redeploy_answers_202_with_the_container_and_wakes_the_controller(
    api, web, django_capture_on_commit_callbacks, query, reuse
):
    container = web.containers.get(number=1)
    Service.objects.filter(pk=web.pk).update(reuse_volumes=not reuse)
    path = f"{container_uri(container)}redeploy/" + (f"?reuse_volumes={query}" if query else "")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(path)

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    assert (body["uuid"], body["state"]) == (str(container.uuid), "Starting")
    assert woken(callbacks) == [("orchestrator.converge_container", [str(container.uuid)])]
    container.refresh_from_db()
    assert container.generation > web.generation
    assert Service.objects.get(pk=web.pk).reuse_volumes is reuse


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
def test_redeploy_with_a_bad_reuse_volumes_is_a_400_naming_it_and_changes_nothing(api, web, value):
    container = web.containers.get(number=1)
    response = api.post(f"{container_uri(container)}redeploy/?reuse_volumes={value}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("reuse_volumes: ")
    container.refresh_from_db()
    assert (container.state, container.generation) == (CS.RUNNING, web.generation)


def test_redeploy_of_another_users_or_a_missing_container_is_a_404(api, other_user):
    theirs = make_application(other_user, "web", containers=1).containers.get()
    assert api.post(f"{container_uri(theirs)}redeploy/").status_code == 404
    assert api.post(f"{CONTAINERS}{uuid.uuid4()}/redeploy/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == CS.RUNNING


def test_redeploy_of_a_terminated_container_is_a_400_with_its_state(api, web):
    container = web.containers.get(number=1)
    set_state(container, CS.TERMINATED)
    response = api.post(f"{container_uri(container)}redeploy/?reuse_volumes=True")
    assert response.status_code == 400
    assert "Terminated" in response.json()["error"]


# ---------------------------------------------------------------- cost


def _queries(api, path) -> tuple[int, list]:
    assert api.get(path).status_code == 200  # records the key's last use
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path)
    return len(captured.captured_queries), objects(response)


def _populate(user, node, count):
    stack = Stack.objects.create(owner=user, name=f"stack-{Stack.objects.count()}")
    for _ in range(count):
        app = make_application(user, f"svc{Service.objects.count()}", containers=2, stack=stack)
        app.containers.update(node=node)


def test_the_list_runs_the_same_number_of_queries_for_2_and_40_containers(api, user, node):
    _populate(user, node, 1)
    few, listed = _queries(api, CONTAINERS + "?limit=100")
    assert len(listed) == 2
    _populate(user, node, 19)
    many, listed = _queries(api, CONTAINERS + "?limit=100")
    assert len(listed) == 40
    assert few == many <= 6
    filtered, listed = _queries(
        api, f"{CONTAINERS}?limit=100&node=/api/v1/node/{node.uuid}/&service__stack__name=stack-1"
    )
    assert len(listed) == 38 and filtered == many


def test_the_detail_runs_the_same_number_of_queries_whatever_it_links_to(api, user, web):
    container = web.containers.get(number=1)
    first = make_application(user, "cache", containers=1)
    ServiceLink.objects.create(from_service=web, to_service=first, name="cache")
    ServiceBinding.objects.create(service=web, container_path="/cache")
    few = _queries_detail(api, container_uri(container))
    for n in range(3):
        db = make_application(user, f"db{n}", containers=3, ports=(5432, 5433))
        ServiceLink.objects.create(from_service=web, to_service=db, name=f"db{n}")
        ServiceBinding.objects.create(service=web, container_path=f"/data{n}")
    many = _queries_detail(api, container_uri(container))
    assert few == many


def _queries_detail(api, path) -> int:
    assert api.get(path).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_renaming_a_stack_shows_in_the_next_cached_list_filtered_by_it(api, user):
    stack = Stack.objects.create(owner=user, name="shop")
    make_application(user, "db", containers=1, stack=stack)
    assert names(api.get(CONTAINERS, {"service__stack__name": "shop"})) == ["db-1"]
    assert names(api.get(CONTAINERS, {"service__stack__name": "shop"})) == ["db-1"]  # now from the cache

    Stack.objects.filter(pk=stack.pk).update(name="store")

    assert names(api.get(CONTAINERS, {"service__stack__name": "shop"})) == []
    assert names(api.get(CONTAINERS, {"service__stack__name": "store"})) == ["db-1"]

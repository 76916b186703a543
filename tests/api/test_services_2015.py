"""/api/v1/service/: the 2015 face of the services that /api/v1/application/ shows in the 2014 shape."""

import pytest

from apps.containers.choices import ContainerState as CS
from apps.services.choices import ServiceState as SS
from apps.services.models import Service, ServiceBinding, ServiceLink
from apps.stacks.models import Stack
from tests.api.app_support import assert_validation_error, make_application, set_state, woken

pytestmark = pytest.mark.django_db

LIST = "/api/v1/service/"
CONVERGE = "orchestrator.converge_service"
# What `tutum service run -t 2 -p 80 -e K=V --name web tutum/hello-world` sends (docs/wire-2015.md).
CLI_RUN_BODY = {
    "image": "tutum/hello-world",
    "name": "web",
    "target_num_containers": 2,
    "container_ports": [{"inner_port": "80", "protocol": "tcp", "published": True}],
    "container_envvars": [{"key": "K", "value": "V"}],
    "linked_to_service": [],
    "bindings": [],
    "autorestart": "ALWAYS",
    "roles": [],
    "tags": [],
    "autoredeploy": False,
    "sequential_deployment": False,
    "privileged": False,
}
LIST_KEYS = {
    "uuid",
    "resource_uri",
    "name",
    "nickname",
    "image_name",
    "image_tag",
    "public_dns",
    "state",
    "synchronized",
    "stack",
    "deployed_datetime",
    "started_datetime",
    "stopped_datetime",
    "destroyed_datetime",
    "target_num_containers",
    "current_num_containers",
    "running_num_containers",
    "stopped_num_containers",
    "container_ports",
    "deployment_strategy",
    "sequential_deployment",
    "autorestart",
    "autodestroy",
    "autoredeploy",
    "tags",
    "roles",
    "entrypoint",
    "run_command",
    "cpu_shares",
    "memory",
    "memory_swap",
    "privileged",
    "net",
    "pid",
}
DETAIL_KEYS = LIST_KEYS | {
    "containers",
    "container_envvars",
    "calculated_envvars",
    "link_variables",
    "linked_to_service",
    "linked_from_service",
    "bindings",
    "labels",
    "working_dir",
    "user",
    "hostname",
    "domainname",
    "mac_address",
    "cgroup_parent",
    "cpuset",
    "tty",
    "stdin_open",
    "read_only",
    "dns",
    "dns_search",
    "cap_add",
    "cap_drop",
    "devices",
    "extra_hosts",
    "security_opt",
}


@pytest.fixture
def created(api):
    response = api.post(LIST, CLI_RUN_BODY, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_as_the_final_cli_sends_it_records_a_service_not_running(created):
    assert set(created) == DETAIL_KEYS
    assert created["state"] == "Not running"
    assert created["containers"] == []
    assert created["container_ports"] == [
        {
            "protocol": "tcp",
            "inner_port": 80,
            "outer_port": None,
            "port_name": "",
            "published": True,
            "endpoint_uri": None,
        }
    ]
    assert created["container_envvars"] == [{"key": "K", "value": "V", "origin": "user"}]
    assert created["autorestart"] == "ALWAYS"
    assert created["resource_uri"] == f"/api/v1/service/{created['uuid']}/"
    assert created["image_name"] == "tutum/hello-world:latest"
    service = Service.objects.get(uuid=created["uuid"])
    assert (service.target_num_containers, service.containers.count()) == (2, 0)


def test_start_then_creates_the_target_containers_and_wakes_the_controller(
    api, created, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{created['resource_uri']}start/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    assert len(response.json()["containers"]) == 2
    assert woken(callbacks) == [(CONVERGE, [created["uuid"]])]


def test_a_2015_service_is_read_and_scaled_through_the_2014_face(api, created):
    app_uri = f"/api/v1/application/{created['uuid']}/"
    app = api.get(app_uri).json()
    assert app["state"] == "Stopped"  # the 2014 shape has no "Not running"
    assert app["name"] == "web" and app["container_size"] == "XS"
    assert api.post(f"{app_uri}start/").status_code == 202
    Service.objects.filter(uuid=created["uuid"]).update(state=SS.RUNNING)  # as the controller would settle it
    assert api.patch(app_uri, {"target_num_containers": 3}, format="json").status_code == 202
    service = api.get(created["resource_uri"]).json()
    assert (service["target_num_containers"], service["current_num_containers"]) == (3, 3)


def test_a_2014_application_is_read_and_scaled_through_the_2015_face(api):
    app = api.post("/api/v1/application/", {"image": "tutum/hello-world", "name": "old"}, format="json").json()
    uri = f"/api/v1/service/{app['uuid']}/"
    service = api.get(uri).json()
    assert service["state"] == "Starting" and service["memory"] == 256 and service["cpu_shares"] == 256
    Service.objects.filter(uuid=app["uuid"]).update(state=SS.RUNNING)
    assert api.patch(uri, {"target_num_containers": 2}, format="json").json()["current_num_containers"] == 1
    scaled = api.post(f"{uri}scale/")
    assert scaled.status_code == 202
    assert (scaled.json()["state"], scaled.json()["current_num_containers"]) == ("Scaling", 2)


def test_list_filters_of_the_final_clients(api, user):
    stack = Stack.objects.create(owner=user, name="prod")
    web = make_application(user, "web", stack=stack)
    make_application(user, "db", state=SS.STOPPED)

    def names(**params):
        response = api.get(LIST, params)
        assert response.status_code == 200, response.content
        return sorted(o["name"] for o in response.json()["objects"])

    assert names() == ["db", "web"]
    assert names(name="web") == ["web"]
    assert names(uuid__startswith=str(web.uuid)[:8]) == ["web"]
    assert names(uuid=str(web.uuid)) == ["web"]
    assert names(state="Stopped") == ["db"]
    assert names(stack=f"/api/v1/stack/{stack.uuid}/") == ["web"]
    assert names(stack__name="prod") == ["web"]
    assert_validation_error(api.get(LIST, {"stack": "prod"}), "stack")


def test_list_items_have_the_list_keys_and_a_stack_uri(api, user):
    stack = Stack.objects.create(owner=user, name="prod")
    make_application(user, "web", stack=stack)
    (item,) = api.get(LIST).json()["objects"]
    assert set(item) == LIST_KEYS
    assert item["stack"] == f"/api/v1/stack/{stack.uuid}/"
    assert item["tags"] == []


def test_list_query_count_does_not_grow_with_the_page(api, user, django_assert_max_num_queries):
    for n in range(12):
        make_application(user, f"s{n}", containers=2)
    with django_assert_max_num_queries(5):
        assert len(api.get(LIST, {"limit": 25}).json()["objects"]) == 12


def test_another_users_service_is_a_404(other_api, created):
    assert other_api.get(created["resource_uri"]).status_code == 404
    assert other_api.post(f"{created['resource_uri']}start/").status_code == 404
    assert other_api.patch(created["resource_uri"], {"nickname": "x"}, format="json").status_code == 404
    assert other_api.delete(created["resource_uri"]).status_code == 404


def test_unauthenticated_is_a_401(client):
    assert client.get(LIST).status_code == 401


def test_patch_of_a_container_field_leaves_a_running_service_unsynchronized_until_redeploy(api, user):
    service = make_application(user, "web", containers=2)
    uri = f"/api/v1/service/{service.uuid}/"
    response = api.patch(
        uri, {"image": "tutum/hello-world:v2", "container_envvars": [{"key": "A", "value": "1"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["synchronized"], body["image_name"]) == (False, "tutum/hello-world:v2")
    assert body["container_envvars"] == [{"key": "A", "value": "1", "origin": "user"}]
    redeployed = api.post(f"{uri}redeploy/?reuse_volumes=False")
    assert redeployed.status_code == 202, redeployed.content
    assert (redeployed.json()["synchronized"], redeployed.json()["state"]) == (True, "Redeploying")
    service.refresh_from_db()
    assert (service.reuse_volumes, service.generation) == (False, 2)


def test_patch_of_flags_and_target_keeps_it_synchronized(api, user):
    service = make_application(user, "web", containers=1)
    uri = f"/api/v1/service/{service.uuid}/"
    body = api.patch(
        uri, {"autorestart": "ON_FAILURE", "nickname": "front", "target_num_containers": 4}, format="json"
    ).json()
    assert (body["synchronized"], body["autorestart"], body["nickname"]) == (True, "ON_FAILURE", "front")
    assert (body["target_num_containers"], body["current_num_containers"], body["state"]) == (4, 1, "Running")


@pytest.mark.parametrize("value", ["True", "False", "true", "false"])
def test_redeploy_takes_reuse_volumes_as_the_clients_send_it(api, user, value):
    service = make_application(user, "web")
    response = api.post(f"/api/v1/service/{service.uuid}/redeploy/?reuse_volumes={value}")
    assert response.status_code == 202, response.content
    service.refresh_from_db()
    assert service.reuse_volumes is (value.lower() == "true")


def test_redeploy_with_a_bad_reuse_volumes_is_a_400_naming_it(api, user):
    service = make_application(user, "web")
    assert_validation_error(api.post(f"/api/v1/service/{service.uuid}/redeploy/?reuse_volumes=maybe"), "reuse_volumes")
    service.refresh_from_db()
    assert service.state == SS.RUNNING


def test_delete_terminates_and_answers_202_with_the_object(api, user):
    service = make_application(user, "web", containers=2)
    response = api.delete(f"/api/v1/service/{service.uuid}/")
    assert response.status_code == 202
    assert response.json()["state"] == "Terminating"
    assert set(service.containers.values_list("state", flat=True)) == {CS.TERMINATING}


def test_an_action_in_an_unsuitable_state_is_a_400_with_the_state(api, user):
    service = make_application(user, "web", state=SS.STOPPED)
    response = api.post(f"/api/v1/service/{service.uuid}/stop/")
    assert response.status_code == 202  # stop while Stopped: already true
    set_state(service, SS.TERMINATED)
    response = api.post(f"/api/v1/service/{service.uuid}/start/")
    assert response.status_code == 400
    assert "Terminated" in response.json()["error"]


def test_links_by_name_and_uri_with_aliases_and_bindings(api, user):
    db = make_application(user, "db")
    data = make_application(user, "data")
    body = {
        "image": "local/busybox",
        "name": "app",
        "linked_to_service": [
            {"to_service": "db", "name": "database"},
            {"to_service": f"/api/v1/service/{data.uuid}/"},
        ],
        "bindings": [
            {"container_path": "/scratch"},
            {"host_path": "cache", "container_path": "/cache", "rewritable": False},
            {"volumes_from": "data"},
        ],
    }
    response = api.post(LIST, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    service = Service.objects.get(uuid=created["uuid"])
    assert sorted(ServiceLink.objects.filter(from_service=service).values_list("to_service__name", "name")) == [
        ("data", "data"),
        ("db", "database"),
    ]
    assert {link["name"] for link in created["linked_to_service"]} == {"database", "data"}
    assert api.get(f"/api/v1/service/{db.uuid}/").json()["linked_from_service"][0]["name"] == "database"
    assert created["bindings"] == [
        {"host_path": None, "container_path": "/scratch", "rewritable": True, "volumes_from": None},
        {"host_path": "cache", "container_path": "/cache", "rewritable": False, "volumes_from": None},
        {
            "host_path": None,
            "container_path": None,
            "rewritable": True,
            "volumes_from": f"/api/v1/service/{data.uuid}/",
        },
    ]
    assert ServiceBinding.objects.filter(service=service).count() == 3


def test_a_link_to_a_service_that_does_not_exist_is_a_400_and_nothing_is_created(api):
    body = {"image": "local/busybox", "name": "app", "linked_to_service": [{"to_service": "nowhere"}]}
    assert_validation_error(api.post(LIST, body, format="json"), "linked_to_service")
    assert not Service.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("image", 123),
        ("name", True),
        ("target_num_containers", "3"),
        ("target_num_containers", 2.0),
        ("container_ports", [{"inner_port": "80.0"}]),
        ("container_ports", [{"inner_port": 70000}]),
        ("container_envvars", {"K": "V"}),
        ("tags", ["prod"]),
        ("privileged", "false"),
        ("memory", True),
        ("labels", ["a=b"]),
        ("labels", {"tutum.container": "x"}),
        ("dns", "8.8.8.8"),
        ("dns", ["not-an-ip"]),
        ("cap_add", ["NET ADMIN"]),
        ("devices", ["sda"]),
        ("extra_hosts", ["nohost"]),
        ("mac_address", "zz"),
        ("cpuset", "all"),
        ("net", "overlay"),
        ("pid", "container"),
        ("autodestroy", "SOMETIMES"),
        ("deployment_strategy", "random"),
        ("bindings", [{"container_path": "relative"}]),
        ("container_size", "XS"),  # a 2014 key: not a service field
        ("web_public_dns", "x.example.com"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_created(api, field, value):
    body = {"image": "local/busybox", "name": "app", field: value}
    assert_validation_error(api.post(LIST, body, format="json"), field)
    assert not Service.objects.exists()


@pytest.mark.parametrize(
    "field, value, setting",
    [
        ("privileged", True, "TUTUM_ALLOW_PRIVILEGED"),
        ("net", "host", "TUTUM_ALLOW_HOST_NETWORK"),
        ("pid", "host", "TUTUM_ALLOW_HOST_PID"),
        ("bindings", [{"host_path": "/etc", "container_path": "/host-etc"}], "TUTUM_ALLOW_HOST_PATHS"),
        ("devices", ["/dev/fuse"], "TUTUM_ALLOW_DEVICES"),
        ("cap_add", ["NET_ADMIN"], "TUTUM_ALLOW_CAP_ADD"),
        ("security_opt", ["apparmor=unconfined"], "TUTUM_ALLOW_SECURITY_OPT"),
        ("cgroup_parent", "/system.slice", "TUTUM_ALLOW_CGROUP_PARENT"),
    ],
)
def test_settings_that_hand_over_the_host_need_staff_or_the_operators_permission(
    api, user, settings, field, value, setting
):
    body = {"image": "local/busybox", "name": "app", field: value}
    refused = assert_validation_error(api.post(LIST, body, format="json"), field)
    assert setting in refused["fields"][field][0]
    setattr(settings, setting, True)
    assert api.post(LIST, body, format="json").status_code == 201
    setattr(settings, setting, False)
    user.is_staff = True
    user.save()
    assert api.post(LIST, {**body, "name": "app2"}, format="json").status_code == 201


@pytest.mark.parametrize("host_path", ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/", "/run/"])
def test_the_docker_socket_is_refused_to_everyone_but_staff(api, user, settings, host_path):
    settings.TUTUM_ALLOW_HOST_PATHS = True
    body = {"image": "local/busybox", "name": "app", "bindings": [{"host_path": host_path, "container_path": "/x"}]}
    assert "Docker socket" in assert_validation_error(api.post(LIST, body, format="json"), "bindings")["error"]
    user.is_staff = True
    user.save()
    assert api.post(LIST, body, format="json").status_code == 201


def test_named_volumes_and_volumes_from_own_services_are_always_allowed(api, user):
    make_application(user, "data")
    body = {
        "image": "local/busybox",
        "name": "app",
        "bindings": [{"host_path": "shared", "container_path": "/shared"}, {"volumes_from": "data"}],
    }
    assert api.post(LIST, body, format="json").status_code == 201


def test_volumes_from_another_users_service_is_refused(api, other_user):
    make_application(other_user, "theirs")
    body = {"image": "local/busybox", "name": "app", "bindings": [{"volumes_from": "theirs"}]}
    assert_validation_error(api.post(LIST, body, format="json"), "bindings")


def test_unknown_keys_are_refused_on_patch_too(api, user):
    service = make_application(user, "web")
    assert_validation_error(api.patch(f"/api/v1/service/{service.uuid}/", {"colour": "red"}, format="json"), "colour")


def test_memory_sets_the_nearest_2014_size(api):
    created = api.post(LIST, {"image": "local/busybox", "memory": 1000, "cpu_shares": 512}, format="json").json()
    app = api.get(f"/api/v1/application/{created['uuid']}/").json()
    assert (created["memory"], created["cpu_shares"], app["container_size"]) == (1000, 512, "M")

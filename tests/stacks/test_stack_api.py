"""/api/v1/stack/ writes: create from a stack file, PATCH as a diff, start/stop/redeploy/terminate, export.

The bodies are what `tutum stack create/up/update` send: the file's raw keys plus "name" per service.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.containers.choices import ContainerState as CS
from apps.services.choices import ServiceState as SS
from apps.services.models import Service, ServiceBinding, ServiceLink
from apps.stacks.models import Stack
from apps.stacks.services import settle_stack
from tests.api.app_support import make_application, make_container, set_state, woken

pytestmark = pytest.mark.django_db

LIST = "/api/v1/stack/"
CONVERGE = "orchestrator.converge_service"

# The CLI's body for a three-service file (web links to api, api links to db and takes its volumes).
FILE = [
    {"name": "web", "image": "tutum/hello-world", "ports": ["8080:80"], "links": ["api:backend"], "restart": "always"},
    {"name": "api", "image": "local/httpd", "links": ["db"], "volumes_from": ["db"], "environment": ["MODE=prod"]},
    {"name": "db", "image": "mysql:5.6", "volumes": ["/var/lib/mysql"], "expose": ["3306"], "target_num_containers": 1},
]


def create(api, services=FILE, name="shop", **extra):
    return api.post(LIST, {"name": name, "services": services, **extra}, format="json")


def stack_services(stack_uuid) -> dict[str, Service]:
    return {s.name: s for s in Service.objects.filter(stack__uuid=stack_uuid).exclude(state=SS.TERMINATED)}


def settled(service, state):
    """Put a service in `state` as the controller settles it; the stack follows (apps/stacks/signals.py does
    this after the controller's commit, which a test's transaction never makes)."""
    set_state(service, state)
    settle_stack(service.stack_id)


def running(service, count=1):
    """Give a service running containers, as if the controller had started it."""
    settled(service, SS.RUNNING)
    return [
        make_container(service, n, state=CS.RUNNING, docker_id=f"docker-{service.name}-{n}")
        for n in range(1, count + 1)
    ]


# ---------------------------------------------------------------- create


def test_create_records_the_services_without_starting_them(api, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = create(api, nickname="The shop")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "shop" and body["nickname"] == "The shop"
    assert body["state"] == "Not Running"
    assert body["synchronized"] is True
    assert body["resource_uri"] == f"/api/v1/stack/{body['uuid']}/"
    services = stack_services(body["uuid"])
    assert set(services) == {"web", "api", "db"}
    assert sorted(body["services"]) == sorted(f"/api/v1/service/{s.uuid}/" for s in services.values())
    assert {s.state for s in services.values()} == {SS.NOT_RUNNING}
    assert not [task for task, _ in woken(callbacks) if task == CONVERGE]
    web, api_service, db = services["web"], services["api"], services["db"]
    assert [(link.to_service, link.name) for link in ServiceLink.objects.filter(from_service=web)] == [
        (api_service, "backend")
    ]
    assert ServiceBinding.objects.get(service=api_service).volumes_from == db
    assert web.autorestart == "ALWAYS"
    assert list(web.ports.values_list("inner_port", "outer_port", "published")) == [(80, 8080, True)]
    assert list(db.ports.values_list("inner_port", "published")) == [(3306, False)]
    assert list(api_service.envvars.values_list("key", "value")) == [("MODE", "prod")]
    assert db.image_name == "mysql:5.6"


def test_create_takes_the_map_form_too(api):
    response = create(api, services={"web": {"image": "nginx"}, "db": {"image": "mysql"}})
    assert response.status_code == 201, response.content
    assert set(stack_services(response.json()["uuid"])) == {"web", "db"}


def test_links_resolve_to_another_stack_and_to_standalone_services(api, user):
    assert create(api, services=[{"name": "cache", "image": "redis"}], name="infra").status_code == 201
    standalone = make_application(user, name="mail", state=SS.RUNNING)
    services = [{"name": "web", "image": "nginx", "links": ["cache.infra:redis", "mail"], "volumes_from": ["mail"]}]
    response = create(api, services=services)
    assert response.status_code == 201, response.content
    web = stack_services(response.json()["uuid"])["web"]
    cache = Service.objects.get(name="cache", stack__name="infra")
    assert sorted((link.to_service.name, link.name) for link in ServiceLink.objects.filter(from_service=web)) == [
        ("cache", "redis"),
        ("mail", "mail"),
    ]
    assert ServiceBinding.objects.get(service=web).volumes_from == standalone
    assert cache.stack.name == "infra"


BAD_FILES = [
    pytest.param([{"name": "web", "image": "nginx", "links": ["db"]}], 'web: links: no service "db"', id="no-link"),
    pytest.param(
        [{"name": "web", "image": "nginx", "links": ["db.other"]}], 'web: links: no service "db" in stack "other"'
    ),
    pytest.param([{"name": "web", "image": "nginx", "volumes_from": ["db"]}], 'web: volumes_from: no service "db"'),
    pytest.param(
        [
            {"name": "a", "image": "nginx", "links": ["b"]},
            {"name": "b", "image": "nginx", "links": ["c"]},
            {"name": "c", "image": "nginx", "volumes_from": ["a"]},
        ],
        "a cycle of links: a -> b -> c -> a",
        id="cycle",
    ),
    pytest.param([{"name": "web", "image": "nginx", "links": ["web"]}], "web: links: a service cannot name itself"),
    pytest.param(
        [{"name": "web", "image": "nginx"}, {"name": "db", "image": "mysql", "ports": ["99999"]}],
        "db: ports: '99999': port 99999 is out of range",
        id="second-service-bad",
    ),
    pytest.param([{"name": "web", "image": "nginx", "build": "."}], "web: build: ", id="build"),
    pytest.param([{"name": "web", "image": "nginx", "privileged": True}], "web: privileged: ", id="privileged"),
]


@pytest.mark.parametrize("services, message", BAD_FILES)
def test_a_bad_file_is_a_400_naming_service_and_key_and_creates_nothing(api, services, message):
    response = create(api, services=services)
    assert response.status_code == 400, response.content
    body = response.json()
    assert message in body["error"], body
    assert any(message in line for line in body["fields"]["services"]), body
    assert not Stack.objects.exists()
    assert not Service.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"services": FILE}, "name"),
        ({"name": "shop"}, "services"),
        ({"name": "bad name!", "services": FILE}, "name"),
        ({"name": "shop", "services": FILE, "colour": "blue"}, "colour"),
        ({"name": "shop", "services": "web"}, "services"),
        ({"name": 3, "services": FILE}, "name"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(api, body, field):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Stack.objects.exists() and not Service.objects.exists()


def test_a_second_live_stack_of_the_same_name_is_refused(api):
    assert create(api).status_code == 201
    response = create(api)
    assert response.status_code == 400
    assert 'already have a stack named "shop"' in response.json()["error"]
    assert Stack.objects.count() == 1


def test_another_users_services_are_not_found(api, other_user):
    make_application(other_user, name="db", state=SS.RUNNING)
    response = create(api, services=[{"name": "web", "image": "nginx", "links": ["db"]}])
    assert response.status_code == 400
    assert 'no service "db"' in response.json()["error"]


def test_another_users_stack_is_a_404(api, other_api):
    uuid = create(api).json()["uuid"]
    for method, path in [
        ("patch", f"{LIST}{uuid}/"),
        ("delete", f"{LIST}{uuid}/"),
        ("post", f"{LIST}{uuid}/start/"),
        ("get", f"{LIST}{uuid}/export/"),
    ]:
        assert getattr(other_api, method)(path, {"services": []}, format="json").status_code == 404


# ---------------------------------------------------------------- PATCH as a diff


def _patch(api, uuid, services):
    return api.patch(f"{LIST}{uuid}/", {"name": "shop", "services": services}, format="json")


def test_patch_with_the_same_file_touches_nothing(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    containers = {name: running(service) for name, service in services.items()}
    before = {s.pk: s.modified for s in Service.objects.all()}
    with django_capture_on_commit_callbacks() as callbacks:
        response = _patch(api, uuid, FILE)
    assert response.status_code == 200, response.content
    assert response.json()["synchronized"] is True
    assert {s.pk: s.modified for s in Service.objects.all()} == before
    assert not woken(callbacks)
    for name, service in stack_services(uuid).items():
        assert service.synchronized
        assert [c.docker_id for c in service.containers.all()] == [c.docker_id for c in containers[name]]


def test_patch_creates_added_updates_changed_and_terminates_removed(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    for service in services.values():
        running(service)
    db_modified = services["db"].modified
    changed = [
        {**FILE[0], "links": ["api:backend"], "environment": {"COLOUR": "blue"}},  # web: env added
        FILE[1],  # api: unchanged
        FILE[2],  # db: unchanged
        {"name": "worker", "image": "busybox", "links": ["db"]},  # added
    ]
    response = _patch(api, uuid, changed)
    assert response.status_code == 200, response.content
    after = stack_services(uuid)
    assert set(after) == {"web", "api", "db", "worker"}
    assert after["web"].pk == services["web"].pk
    assert not after["web"].synchronized
    assert list(after["web"].envvars.values_list("key", "value")) == [("COLOUR", "blue")]
    assert after["api"].synchronized and after["db"].synchronized
    assert after["db"].modified == db_modified
    assert after["worker"].state == SS.NOT_RUNNING
    assert ServiceLink.objects.get(from_service=after["worker"]).to_service == after["db"]
    assert response.json()["synchronized"] is False

    removed = [FILE[1], FILE[2]]  # web and worker go
    with django_capture_on_commit_callbacks() as callbacks:
        response = _patch(api, uuid, removed)
    assert response.status_code == 200, response.content
    assert Service.objects.get(pk=services["web"].pk).state == SS.TERMINATING
    assert Service.objects.get(pk=after["worker"].pk).state == SS.TERMINATING
    assert set(stack_services(uuid)) == {"api", "db", "web", "worker"} - set()  # terminating, not yet gone
    assert (CONVERGE, [str(services["web"].uuid)]) in woken(callbacks)


def test_patch_of_a_key_left_out_resets_it_but_keeps_the_image_command_and_ports(api):
    uuid = create(api, services=[{"name": "web", "image": "nginx", "privileged": False, "tty": True}]).json()["uuid"]
    web = stack_services(uuid)["web"]
    # What the controller fills in from the image at the first converge.
    Service.objects.filter(pk=web.pk).update(run_command="nginx -g 'daemon off;'", image_defaults_applied=True)
    web.ports.create(inner_port=80, protocol="tcp")
    assert _patch(api, uuid, [{"name": "web", "image": "nginx", "tty": True}]).status_code == 200
    web.refresh_from_db()
    assert web.synchronized and web.run_command == "nginx -g 'daemon off;'"
    assert list(web.ports.values_list("inner_port", flat=True)) == [80]
    assert _patch(api, uuid, [{"name": "web", "image": "nginx"}]).status_code == 200
    web.refresh_from_db()
    assert web.tty is False


def test_a_bad_patch_changes_nothing(api):
    uuid = create(api).json()["uuid"]
    before = sorted(Service.objects.values_list("pk", "state", "modified"))
    response = _patch(api, uuid, [FILE[0], {"name": "api", "image": "x", "links": ["nowhere"]}])
    assert response.status_code == 400
    assert 'api: links: no service "nowhere"' in response.json()["error"]
    assert sorted(Service.objects.values_list("pk", "state", "modified")) == before


# ---------------------------------------------------------------- export


def test_export_gives_the_file_and_sending_it_back_changes_nothing(api):
    services = [
        *FILE,
        {
            "name": "full",
            "image": "tutum/hello-world:v2",
            "command": "run --fast",
            "entrypoint": "/entry",
            "environment": {"A": "1", "B": ""},
            "labels": {"tier": "front"},
            "ports": ["80", "4500:4500/udp"],
            "expose": ["9000"],
            "volumes": ["/data", "named:/named", "/ro:/ro:ro"],
            "tags": ["prod"],
            "target_num_containers": 3,
            "autorestart": "on-failure",
            "autodestroy": "always",
            "deployment_strategy": "every_node",
            "sequential_deployment": True,
            "roles": ["global"],
            "autoredeploy": True,
            "dns": "8.8.8.8",
            "dns_search": ["example.com"],
            "cap_drop": ["NET_RAW"],
            "extra_hosts": ["db.local:10.0.0.2"],
            "working_dir": "/app",
            "user": "1000",
            "hostname": "box",
            "domainname": "example.com",
            "mac_address": "02:42:ac:11:00:02",
            "cpu_shares": 512,
            "cpuset": "0",
            "mem_limit": "512m",
            "memswap_limit": "1g",
            "read_only": True,
            "stdin_open": True,
            "tty": True,
        },
    ]
    from django.test import override_settings

    with override_settings(TUTUM_ALLOW_HOST_PATHS=True):
        uuid = create(api, services=services).json()["uuid"]
        exported = api.get(f"{LIST}{uuid}/export/")
        assert exported.status_code == 200, exported.content
        body = exported.json()
        assert set(body) == {"web", "api", "db", "full"}
        assert body["web"] == {
            "image": "tutum/hello-world:latest",
            "links": ["api:backend"],
            "ports": ["8080:80"],
            "restart": "always",
        }
        assert body["api"]["volumes_from"] == ["db"]
        assert body["full"]["mem_limit"] == "512m" and body["full"]["restart"] == "on-failure"
        before = sorted(Service.objects.values_list("pk", "modified", "synchronized"))
        # As `tutum stack update` sends an exported file back: a list with the names added.
        response = _patch(api, uuid, [{"name": name, **keys} for name, keys in body.items()])
        assert response.status_code == 200, response.content
        assert sorted(Service.objects.values_list("pk", "modified", "synchronized")) == before


def test_export_answers_in_a_constant_number_of_queries(api):
    uuid = create(api).json()["uuid"]
    with CaptureQueriesContext(connection) as small:
        api.get(f"{LIST}{uuid}/export/")
    big = [{"name": f"s{n}", "image": "nginx", "links": ["db"], "environment": ["A=1"]} for n in range(8)]
    uuid = create(api, services=[*big, {"name": "db", "image": "mysql"}], name="big").json()["uuid"]
    with CaptureQueriesContext(connection) as large:
        assert api.get(f"{LIST}{uuid}/export/").status_code == 200
    assert len(large) == len(small)


# ---------------------------------------------------------------- start, stop, redeploy, terminate


def test_start_starts_each_service_once_those_it_links_to_have_settled(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    db, api_service, web = services["db"], services["api"], services["web"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"{LIST}{uuid}/start/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    assert response.json()["deployed_datetime"]
    assert woken(callbacks) == [(CONVERGE, [str(db.uuid)])]  # api links to db and takes its volumes
    stack = Stack.objects.get(uuid=uuid)
    assert stack.waiting == [api_service.pk, web.pk]
    assert {s.name: s.state for s in stack_services(uuid).values()} == {
        "db": SS.STARTING,
        "api": SS.NOT_RUNNING,
        "web": SS.NOT_RUNNING,
    }
    # Asking again while it starts is a no-op.
    with django_capture_on_commit_callbacks() as callbacks:
        assert api.post(f"{LIST}{uuid}/start/").status_code == 202
    assert woken(callbacks) == []
    with django_capture_on_commit_callbacks() as callbacks:
        settled(db, SS.RUNNING)
    assert woken(callbacks) == [(CONVERGE, [str(api_service.uuid)])]
    assert api.get(f"{LIST}{uuid}/").json()["state"] == "Starting"
    # A dependency that failed to start does not hold the others back.
    with django_capture_on_commit_callbacks() as callbacks:
        settled(Service.objects.get(pk=api_service.pk), SS.START_FAILED)
    assert woken(callbacks) == [(CONVERGE, [str(web.uuid)])]
    assert Stack.objects.get(uuid=uuid).waiting == []


def test_the_stack_follows_a_service_the_controller_saves(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    for service in services.values():
        service.state = SS.RUNNING
        with django_capture_on_commit_callbacks(execute=True):
            service.save(update_fields=["state"])
    assert Stack.objects.get(uuid=uuid).state == "Running"
    assert api.get(LIST, {"state": "Running"}).json()["meta"]["total_count"] == 1


def test_stop_while_it_starts_is_refused_and_terminate_drops_what_waits(api):
    uuid = create(api).json()["uuid"]
    assert api.post(f"{LIST}{uuid}/start/").status_code == 202
    response = api.post(f"{LIST}{uuid}/stop/")
    assert response.status_code == 400
    assert "Cannot stop the stack while it is Starting" in response.json()["error"]
    assert api.delete(f"{LIST}{uuid}/").status_code == 202
    assert Stack.objects.get(uuid=uuid).waiting == []
    assert {s.state for s in Service.objects.filter(stack__uuid=uuid)} == {SS.TERMINATING}


def test_stop_and_states_read_off_the_services(api):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    for service in services.values():
        running(service)
    assert api.get(f"{LIST}{uuid}/").json()["state"] == "Running"
    settled(services["db"], SS.STOPPED)
    assert api.get(f"{LIST}{uuid}/").json()["state"] == "Partly running"
    settled(services["db"], SS.RUNNING)
    response = api.post(f"{LIST}{uuid}/stop/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Stopping"
    assert {s.state for s in stack_services(uuid).values()} == {SS.STOPPING}
    for service in services.values():
        settled(service, SS.STOPPED)
    assert api.get(f"{LIST}{uuid}/").json()["state"] == "Stopped"


def test_redeploy_replaces_only_unsynchronized_services(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    for service in services.values():
        running(service)
    _patch(api, uuid, [{**FILE[0], "environment": ["NEW=1"]}, FILE[1], FILE[2]])
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"{LIST}{uuid}/redeploy/?reuse_volumes=False")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Redeploying"
    after = stack_services(uuid)
    assert after["web"].state == SS.REDEPLOYING and after["web"].reuse_volumes is False
    assert after["api"].state == SS.RUNNING and after["db"].state == SS.RUNNING
    assert [args[0] for task, args in woken(callbacks)] == [str(services["web"].uuid)]


@pytest.mark.parametrize("value, reuse", [("True", True), ("true", True), ("False", False), ("false", False)])
def test_redeploy_of_a_synchronized_stack_redeploys_all(api, value, reuse):
    uuid = create(api).json()["uuid"]
    for service in stack_services(uuid).values():
        running(service)
    assert api.post(f"{LIST}{uuid}/redeploy/?reuse_volumes={value}").status_code == 202
    after = stack_services(uuid).values()
    assert {s.state for s in after} == {SS.REDEPLOYING}
    assert {s.reuse_volumes for s in after} == {reuse}


def test_redeploy_starts_the_services_a_patch_added(api):
    uuid = create(api).json()["uuid"]
    for service in stack_services(uuid).values():
        running(service)
    _patch(api, uuid, [*FILE, {"name": "extra", "image": "busybox"}])
    assert api.post(f"{LIST}{uuid}/redeploy/").status_code == 202
    after = stack_services(uuid)
    assert after["extra"].state == SS.STARTING
    assert after["web"].state == SS.RUNNING


def test_unsuitable_states_and_parameters_are_400s(api):
    uuid = create(api).json()["uuid"]
    response = api.post(f"{LIST}{uuid}/redeploy/")
    assert response.status_code == 400
    assert "Cannot redeploy the stack while it is Not Running" in response.json()["error"]
    response = api.post(f"{LIST}{uuid}/redeploy/?reuse_volumes=maybe")
    assert response.status_code == 400 and "reuse_volumes" in response.json()["fields"]


def test_delete_terminates_every_service_and_answers_202(api, django_capture_on_commit_callbacks):
    uuid = create(api).json()["uuid"]
    services = stack_services(uuid)
    for service in services.values():
        running(service)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.delete(f"{LIST}{uuid}/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"
    assert response.json()["destroyed_datetime"]
    assert {s.state for s in Service.objects.filter(stack__uuid=uuid)} == {SS.TERMINATING}
    assert sorted(args[0] for _, args in woken(callbacks)) == sorted(str(s.uuid) for s in services.values())
    for service in services.values():
        settled(service, SS.TERMINATED)
    assert api.get(f"{LIST}{uuid}/").json()["state"] == "Terminated"
    for method, path in [("post", "start/"), ("post", "redeploy/"), ("delete", ""), ("patch", "")]:
        response = getattr(api, method)(f"{LIST}{uuid}/{path}", {"services": []}, format="json")
        assert response.status_code == 400, (method, path)
        assert "while it is Terminated" in response.json()["error"]
    # The name is free again.
    assert create(api).status_code == 201


def test_the_stack_documentations_body_in_service_api_names_is_taken(api):
    # Tutum's stack documentation writes its example services with the service API's keys.
    services = [
        {"name": "hello-word", "image": "tutum/hello-world", "target_num_containers": 2},
        {
            "name": "web",
            "image": "tutum/wordpress-stackable:latest",
            "linked_to_service": [{"to_service": "hello-word", "name": "DB"}],
            "container_envvars": [{"key": "DB_PASS", "value": "secret"}],
        },
    ]
    response = create(api, services=services)
    assert response.status_code == 201, response.content
    web = stack_services(response.json()["uuid"])["web"]
    link = ServiceLink.objects.get(from_service=web)
    assert (link.to_service.name, link.name) == ("hello-word", "DB")
    assert list(web.envvars.values_list("key", "value")) == [("DB_PASS", "secret")]
    exported = api.get(f"{LIST}{response.json()['uuid']}/export/").json()
    assert exported["web"]["links"] == ["hello-word:DB"]

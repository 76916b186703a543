"""Applications through the API, on Postgres, with no worker: what is validated, recorded and answered."""

import uuid

import pytest
from django.conf import settings as django_settings

from apps.containers.models import Container, ContainerPort
from apps.services.models import Service, ServiceEnvVar, ServicePort

from .app_support import (
    APPLICATION_DETAIL_KEYS,
    AS,
    CS,
    EXTRA_KEYS,
    app_uri,
    assert_validation_error,
    container_uri,
    make_application,
    set_state,
    woken,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CONVERGE_SERVICE = "orchestrator.converge_service"
MODELS = (Service, ServicePort, ServiceEnvVar, Container, ContainerPort)


def _row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _post(api, payload):
    return api.post("/api/v1/application/", payload, format="json")


# ---------------------------------------------------------------- create: 400 cases


@pytest.fixture
def linkable(user, other_user):
    """One application of alice's and one of bob's, to link to."""
    return {"mine": make_application(user, "db"), "theirs": make_application(other_user, "their-db")}


BAD_CREATES = [
    pytest.param({}, "image", id="missing-image"),
    pytest.param({"name": "web"}, "image", id="missing-image-with-name"),
    pytest.param({"image": ""}, "image", id="empty-image"),
    pytest.param({"image": "Tutum/Hello World"}, "image", id="image-with-space-and-capitals"),
    pytest.param({"image": "tutum/hello-world:"}, "image", id="image-empty-tag"),
    pytest.param({"image": "tutum//hello"}, "image", id="image-empty-component"),
    pytest.param({"image": "tutum/hello-world", "container_size": "XXL"}, "container_size", id="unknown-size"),
    pytest.param({"image": "tutum/hello-world", "container_size": "xs"}, "container_size", id="lowercase-size"),
    pytest.param({"image": "tutum/hello-world", "autorestart": "SOMETIMES"}, "autorestart", id="bad-autorestart"),
    pytest.param({"image": "tutum/hello-world", "autoreplace": "yes"}, "autoreplace", id="bad-autoreplace"),
    pytest.param({"image": "tutum/hello-world", "autodestroy": "never"}, "autodestroy", id="bad-autodestroy"),
    pytest.param({"image": "tutum/hello-world", "roles": ["admin"]}, "roles", id="unknown-role"),
    pytest.param({"image": "tutum/hello-world", "roles": ["global", "root"]}, "roles", id="one-unknown-role"),
    pytest.param(
        {"image": "tutum/hello-world", "container_ports": [{"inner_port": 0}]}, "container_ports", id="port-0"
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_ports": [{"inner_port": 65536}]}, "container_ports", id="port-65536"
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_ports": [{"inner_port": 80}, {"inner_port": 80, "protocol": "tcp"}]},
        "container_ports",
        id="port-duplicated",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_ports": [{"inner_port": 53, "protocol": "sctp"}]},
        "container_ports",
        id="port-unknown-protocol",
    ),
    pytest.param(
        {
            "image": "tutum/hello-world",
            "container_envvars": [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}],
        },
        "container_envvars",
        id="env-duplicate-key",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_envvars": [{"key": "1ABC", "value": "x"}]},
        "container_envvars",
        id="env-key-starts-with-digit",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_envvars": [{"key": "MY-VAR", "value": "x"}]},
        "container_envvars",
        id="env-key-with-dash",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "container_envvars": [{"key": "", "value": "x"}]},
        "container_envvars",
        id="env-key-empty",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "linked_to_application": [f"/api/v1/application/{uuid.uuid4()}/"]},
        "linked_to_application",
        id="link-to-missing-application",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "linked_to_application": ["my-db"]},
        "linked_to_application",
        id="link-not-a-uri",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "web_public_dns": "www.example.com", "container_ports": [{"inner_port": 8080}]},
        "web_public_dns",
        id="web-dns-without-port-80",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "web_public_dns": "www.example.com", "container_ports": []},
        "web_public_dns",
        id="web-dns-with-no-ports",
    ),
    pytest.param(
        {"image": "tutum/hello-world", "web_public_dns": "not a domain", "container_ports": [{"inner_port": 80}]},
        "web_public_dns",
        id="web-dns-invalid",
    ),
    pytest.param({"image": "tutum/hello-world", "target_num_containers": -1}, "target_num_containers", id="negative"),
    pytest.param({"image": "tutum/hello-world", "target_num_containers": "two"}, "target_num_containers", id="nan"),
    pytest.param({"image": "tutum/hello-world", "name": "-web"}, "name", id="name-leading-dash"),
    pytest.param({"image": "tutum/hello-world", "name": "my web"}, "name", id="name-with-space"),
    pytest.param({"image": "tutum/hello-world", "name": "web_app"}, "name", id="name-with-underscore"),
    pytest.param({"image": "tutum/hello-world", "name": "a" * 65}, "name", id="name-too-long"),
    pytest.param({"image": "tutum/hello-world", "name": ""}, "name", id="name-empty"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_CREATES)
def test_create_refuses_invalid_input_naming_the_field_and_creating_nothing(
    api, linkable, django_capture_on_commit_callbacks, payload, field
):
    before = _row_counts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(api, payload)
    assert_validation_error(response, field)
    assert _row_counts() == before
    assert callbacks == []


@pytest.mark.parametrize("whose", ["theirs", "mine-terminated"])
def test_create_refuses_links_to_applications_not_linkable(api, user, linkable, whose):
    target = linkable["theirs"]
    if whose == "mine-terminated":
        target = make_application(user, "old-db", state=AS.TERMINATED, containers=0)
    before = _row_counts()
    response = _post(api, {"image": "tutum/hello-world", "linked_to_application": [app_uri(target)]})
    body = assert_validation_error(response, "linked_to_application")
    assert str(target.uuid) in body["fields"]["linked_to_application"][0]
    assert _row_counts() == before


def test_create_refuses_a_target_above_the_configured_maximum(api, settings):
    settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION = 3
    before = _row_counts()
    body = assert_validation_error(
        _post(api, {"image": "tutum/hello-world", "target_num_containers": 4}), "target_num_containers"
    )
    assert "3" in body["fields"]["target_num_containers"][0]
    assert _row_counts() == before
    assert _post(api, {"image": "tutum/hello-world", "target_num_containers": 3}).status_code == 202


def test_create_reports_every_bad_field_at_once(api):
    response = _post(api, {"image": "NOT VALID", "container_size": "XXL", "autorestart": "maybe"})
    body = assert_validation_error(response, "image")
    assert {"image", "container_size", "autorestart"} <= set(body["fields"])
    assert Service.objects.count() == 0


def test_create_refuses_a_non_json_body(api):
    response = api.post(
        "/api/v1/application/", "image=tutum/hello-world", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "error" in response.json()
    assert Service.objects.count() == 0


# ---------------------------------------------------------------- create: success


def test_create_answers_202_with_the_shape_of_the_spec_example(api, user, django_capture_on_commit_callbacks):
    payload = {
        "image": "tutum/hello-world",
        "name": "my-awesome-app",
        "target_num_containers": 2,
        "container_size": "XS",
        "web_public_dns": "awesome-app.example.com",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(api, payload)
    assert response.status_code == 202, response.content
    app = response.json()
    assert set(app) == APPLICATION_DETAIL_KEYS | EXTRA_KEYS

    record = Service.objects.get()
    uri = f"/api/v1/application/{record.uuid}/"
    assert app["uuid"] == str(record.uuid)
    assert app["resource_uri"] == uri
    assert app["state"] == "Starting"
    assert app["name"] == app["unique_name"] == "my-awesome-app"
    assert app["image_tag"] == "/api/v1/image/tutum/hello-world/tag/latest/"
    assert app["image_name"] == "tutum/hello-world:latest"
    assert app["container_size"] == "XS"
    assert (app["autorestart"], app["autoreplace"], app["autodestroy"]) == ("OFF", "OFF", "OFF")
    assert app["web_public_dns"] == "awesome-app.example.com"
    assert app["public_dns"] == f"my-awesome-app-alice.{django_settings.TUTUM_PUBLIC_DOMAIN}"
    assert app["target_num_containers"] == app["current_num_containers"] == 2
    assert app["running_num_containers"] == app["stopped_num_containers"] == 0
    assert all(app[f] is None for f in ("deployed_datetime", "started_datetime", "stopped_datetime"))
    assert app["destroyed_datetime"] is None
    assert app["roles"] == [] and app["linked_to_application"] == [] and app["linked_from_application"] == []
    assert app["container_envvars"] == []
    assert app["link_variables"] == {"MY_AWESOME_APP_TUTUM_API_URL": f"{django_settings.TUTUM_API_URL}{uri}"}

    containers = list(Container.objects.filter(service=record).order_by("number"))
    assert app["containers"] == [container_uri(c) for c in containers]
    assert [(c.unique_name, c.state) for c in containers] == [
        ("my-awesome-app-1", CS.STARTING),
        ("my-awesome-app-2", CS.STARTING),
    ]
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(record.uuid)])]


def test_create_records_ports_variables_links_roles_and_flags(api, user, linkable):
    db = linkable["mine"]
    payload = {
        "image": "127.0.0.1:5000/team/app:1.0",
        "name": "shop",
        "container_size": "M",
        "target_num_containers": 1,
        "run_command": "/run.sh --fast",
        "entrypoint": "/bin/sh -c",
        "container_ports": [{"protocol": "tcp", "inner_port": 80}, {"protocol": "udp", "inner_port": 53}],
        "container_envvars": [{"key": "DB_PASSWORD", "value": "s3cret"}, {"key": "EMPTY", "value": ""}],
        "linked_to_application": [app_uri(db)],
        "autorestart": "ON_FAILURE",
        "autoreplace": "ALWAYS",
        "autodestroy": "OFF",
        "roles": ["global"],
        "web_public_dns": "Shop.Example.com",
    }
    response = _post(api, payload)
    assert response.status_code == 202, response.content
    app = response.json()
    uri = app["resource_uri"]
    assert app["image_tag"] == "/api/v1/image/127.0.0.1:5000/team/app/tag/1.0/"
    assert app["image_name"] == "127.0.0.1:5000/team/app:1.0"
    assert (app["container_size"], app["run_command"], app["entrypoint"]) == ("M", "/run.sh --fast", "/bin/sh -c")
    assert app["container_ports"] == [
        {"application": uri, "inner_port": 80, "outer_port": None, "protocol": "tcp"},
        {"application": uri, "inner_port": 53, "outer_port": None, "protocol": "udp"},
    ]
    assert app["container_envvars"] == [
        {"application": uri, "key": "DB_PASSWORD", "value": "s3cret"},
        {"application": uri, "key": "EMPTY", "value": ""},
    ]
    assert app["linked_to_application"] == [app_uri(db)]
    assert (app["autorestart"], app["autoreplace"], app["autodestroy"]) == ("ON_FAILURE", "ALWAYS", "OFF")
    assert app["roles"] == ["global"]
    assert app["web_public_dns"] == "shop.example.com"

    (container,) = Container.objects.filter(service__uuid=app["uuid"])
    assert sorted((p.inner_port, p.protocol, p.outer_port) for p in container.ports.all()) == [
        (53, "udp", None),
        (80, "tcp", None),
    ]
    linked = api.get(app_uri(db)).json()
    assert linked["linked_from_application"] == [uri]


def test_create_names_the_application_after_the_image_by_default(api):
    app = _post(api, {"image": "tutum/hello-world"}).json()
    assert (app["name"], app["unique_name"]) == ("hello-world", "hello-world")
    assert app["target_num_containers"] == 1 and len(app["containers"]) == 1
    assert app["container_size"] == "XS"
    app = _post(api, {"image": "127.0.0.1:5000/team/my.app:2"}).json()
    assert app["name"] == "my-app"
    assert app["image_tag"] == "/api/v1/image/127.0.0.1:5000/team/my.app/tag/2/"


def test_unique_name_gets_a_suffix_for_each_live_application_of_the_same_name(api, other_api, user):
    first = _post(api, {"image": "tutum/hello-world", "name": "web"}).json()
    second = _post(api, {"image": "tutum/hello-world", "name": "web"}).json()
    third = _post(api, {"image": "tutum/hello-world", "name": "web"}).json()
    assert [a["unique_name"] for a in (first, second, third)] == ["web", "web-2", "web-3"]
    assert all(a["name"] == "web" for a in (first, second, third))
    second_containers = Container.objects.filter(service__uuid=second["uuid"])
    assert [c.unique_name for c in second_containers] == ["web-2-1"]
    assert second["public_dns"].startswith("web-2-alice.")

    # Another user's names are their own.
    assert _post(other_api, {"image": "tutum/hello-world", "name": "web"}).json()["unique_name"] == "web"
    # A terminated application frees its name; a terminating one does not yet.
    Service.objects.filter(uuid=first["uuid"]).update(state=AS.TERMINATED)
    Service.objects.filter(uuid=third["uuid"]).update(state=AS.TERMINATING)
    assert _post(api, {"image": "tutum/hello-world", "name": "web"}).json()["unique_name"] == "web"
    assert _post(api, {"image": "tutum/hello-world", "name": "web"}).json()["unique_name"] == "web-4"


def test_unique_names_differing_only_in_case_are_told_apart(api):
    """They become DNS names and link-variable prefixes (WEB_PORT), which ignore case."""
    lower = _post(api, {"image": "tutum/hello-world", "name": "web"}).json()
    upper = _post(api, {"image": "tutum/hello-world", "name": "Web"}).json()
    assert (lower["unique_name"], upper["unique_name"]) == ("web", "Web-2")
    assert upper["name"] == "Web"
    assert lower["public_dns"].lower() != upper["public_dns"].lower()


def test_create_with_no_containers_is_stopped(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        app = _post(api, {"image": "tutum/hello-world", "target_num_containers": 0}).json()
    assert app["state"] == "Stopped"
    assert app["containers"] == [] and app["current_num_containers"] == 0
    assert len(callbacks) == 1


# ---------------------------------------------------------------- PATCH


@pytest.fixture
def running(user):
    return make_application(user, "web", state=AS.RUNNING, containers=2)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({"name": "renamed"}, "name", id="name"),
        pytest.param({"image": "tutum/other"}, "image", id="image"),
        pytest.param({"container_size": "L"}, "container_size", id="container_size"),
        pytest.param({"bogus": 1}, "bogus", id="unknown"),
        pytest.param({"target_num_containers": 3, "state": "Running"}, "state", id="known-and-unknown"),
        pytest.param({"target_num_containers": -1}, "target_num_containers", id="negative-target"),
        pytest.param({"target_num_containers": "many"}, "target_num_containers", id="nan-target"),
        pytest.param({"autorestart": "SOMETIMES"}, "autorestart", id="bad-autorestart"),
        pytest.param({"autoreplace": "maybe"}, "autoreplace", id="bad-autoreplace"),
        pytest.param({"autodestroy": ""}, "autodestroy", id="bad-autodestroy"),
        pytest.param({"web_public_dns": "not a domain"}, "web_public_dns", id="bad-web-dns"),
    ],
)
def test_patch_refuses_invalid_or_unknown_fields_and_changes_nothing(
    api, running, django_capture_on_commit_callbacks, payload, field
):
    before = _row_counts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(running), payload, format="json")
    assert_validation_error(response, field)
    assert _row_counts() == before
    assert callbacks == []
    fresh = Service.objects.get(pk=running.pk)
    assert (fresh.name, fresh.state, fresh.target_num_containers, fresh.autorestart) == ("web", "Running", 2, "OFF")


def test_patch_refuses_a_target_above_the_configured_maximum(api, running, settings):
    settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION = 4
    assert_validation_error(
        api.patch(app_uri(running), {"target_num_containers": 5}, format="json"), "target_num_containers"
    )
    assert Container.objects.count() == 2
    assert api.patch(app_uri(running), {"target_num_containers": 4}, format="json").status_code == 202
    assert Container.objects.count() == 4


def test_patch_refuses_web_public_dns_without_port_80(api, user):
    app = make_application(user, "api", ports=(8080,))
    body = assert_validation_error(
        api.patch(app_uri(app), {"web_public_dns": "api.example.com"}, format="json"), "web_public_dns"
    )
    assert "80" in body["error"]
    app.refresh_from_db()
    assert app.web_public_dns is None


def test_patch_target_scales_up_listing_the_new_containers(api, running, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(running), {"target_num_containers": 4}, format="json")
    assert response.status_code == 202, response.content
    app = response.json()
    assert set(app) == APPLICATION_DETAIL_KEYS | EXTRA_KEYS
    assert app["state"] == "Scaling"
    assert app["target_num_containers"] == app["current_num_containers"] == 4
    assert app["running_num_containers"] == 2
    containers = list(running.containers.order_by("number"))
    assert app["containers"] == [container_uri(c) for c in containers]
    assert [(c.unique_name, c.state) for c in containers] == [
        ("web-1", CS.RUNNING),
        ("web-2", CS.RUNNING),
        ("web-3", CS.STARTING),
        ("web-4", CS.STARTING),
    ]
    # New containers get the application's ports.
    assert [p.inner_port for p in containers[3].ports.all()] == [80]
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(running.uuid)])]


def test_patch_target_scales_down_marking_the_newest_containers_terminating(api, user):
    app = make_application(user, "web", state=AS.RUNNING, containers=4)
    response = api.patch(app_uri(app), {"target_num_containers": 1}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Scaling"
    assert response.json()["target_num_containers"] == 1
    states = dict(app.containers.values_list("unique_name", "state"))
    assert states == {"web-1": CS.RUNNING, "web-2": CS.TERMINATING, "web-3": CS.TERMINATING, "web-4": CS.TERMINATING}


def test_patch_target_to_zero_and_back_never_reuses_numbers(api, user):
    app = make_application(user, "web", state=AS.RUNNING, containers=2)
    assert api.patch(app_uri(app), {"target_num_containers": 0}, format="json").status_code == 202
    assert set(app.containers.values_list("state", flat=True)) == {CS.TERMINATING}
    Container.objects.filter(service=app).update(state=CS.TERMINATED)
    set_state(app, AS.STOPPED)
    response = api.patch(app_uri(app), {"target_num_containers": 1}, format="json")
    assert response.status_code == 202
    assert response.json()["containers"] == [container_uri(app.containers.get(number=3))]
    assert app.containers.get(number=3).unique_name == "web-3"


def test_patch_same_target_changes_nothing(api, running, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(running), {"target_num_containers": 2}, format="json")
    assert response.status_code == 202
    assert response.json()["state"] == "Running"
    assert callbacks == []


def test_patch_updates_crash_recovery_flags_and_domain_without_scaling(
    api, running, django_capture_on_commit_callbacks
):
    payload = {
        "autorestart": "ALWAYS",
        "autoreplace": "ON_FAILURE",
        "autodestroy": "ALWAYS",
        "web_public_dns": "www.example.org",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(running), payload, format="json")
    assert response.status_code == 202, response.content
    app = response.json()
    assert {k: app[k] for k in payload} == payload
    assert app["state"] == "Running"
    running.refresh_from_db()
    assert (running.autorestart, running.autoreplace, running.autodestroy) == ("ALWAYS", "ON_FAILURE", "ALWAYS")
    assert running.web_public_dns == "www.example.org"
    assert callbacks == []

    response = api.patch(app_uri(running), {"web_public_dns": None}, format="json")
    assert response.status_code == 202
    assert response.json()["web_public_dns"] is None


@pytest.mark.parametrize("state", [AS.STARTING, AS.REDEPLOYING, AS.STOPPING, AS.START_FAILED])
def test_patch_target_in_an_unsuitable_state_is_400_naming_the_state(api, running, state):
    set_state(running, state)
    response = api.patch(app_uri(running), {"target_num_containers": 5}, format="json")
    assert response.status_code == 400
    assert state in response.json()["error"]
    assert running.containers.count() == 2
    running.refresh_from_db()
    assert (running.state, running.target_num_containers) == (state, 2)


def test_patch_target_while_scaling_moves_the_goal(api, user, django_capture_on_commit_callbacks):
    """A recorded decision (docs/decisions.md, "States"; commit a631ad2): the last accepted target holds."""
    app = make_application(user, "web", state=AS.RUNNING, containers=2)
    assert api.patch(app_uri(app), {"target_num_containers": 4}, format="json").json()["state"] == "Scaling"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(app), {"target_num_containers": 3}, format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["state"], response.json()["target_num_containers"]) == ("Scaling", 3)
    states = dict(app.containers.values_list("number", "state"))
    assert states == {1: CS.RUNNING, 2: CS.RUNNING, 3: CS.STARTING, 4: CS.TERMINATING}
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(app.uuid)])]


@pytest.mark.parametrize("state", [AS.TERMINATING, AS.TERMINATED])
def test_patch_of_a_terminated_application_is_400(api, running, state):
    set_state(running, state)
    response = api.patch(app_uri(running), {"autorestart": "ALWAYS"}, format="json")
    assert response.status_code == 400
    assert state in response.json()["error"]
    running.refresh_from_db()
    assert running.autorestart == "OFF"


# ---------------------------------------------------------------- actions


def test_start_a_stopped_application(api, user, django_capture_on_commit_callbacks):
    app = make_application(user, "web", state=AS.STOPPED, containers=2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{app_uri(app)}start/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == APPLICATION_DETAIL_KEYS | EXTRA_KEYS
    assert body["state"] == "Starting"
    assert set(app.containers.values_list("state", flat=True)) == {CS.STARTING}
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(app.uuid)])]


def test_start_a_partly_running_application_starts_only_what_is_not_running(api, user):
    app = make_application(user, "web", state=AS.PARTLY_RUNNING, containers=3)
    Container.objects.filter(service=app, number=2).update(state=CS.STOPPED)
    Container.objects.filter(service=app, number=3).update(state=CS.START_FAILED)
    response = api.post(f"{app_uri(app)}start/")
    assert response.status_code == 202
    assert response.json()["state"] == "Starting"
    assert list(app.containers.order_by("number").values_list("state", flat=True)) == [
        CS.RUNNING,
        CS.STARTING,
        CS.STARTING,
    ]


def test_start_recreates_missing_containers_up_to_the_target(api, user):
    app = make_application(user, "web", state=AS.START_FAILED, containers=1, target_num_containers=2)
    response = api.post(f"{app_uri(app)}start/")
    assert response.status_code == 202
    assert len(response.json()["containers"]) == 2
    assert app.containers.get(number=2).state == CS.STARTING


@pytest.mark.parametrize(
    ("action", "state"), [("start", AS.RUNNING), ("start", AS.STARTING), ("stop", AS.STOPPED), ("stop", AS.STOPPING)]
)
def test_asking_again_for_what_is_already_true_is_202_unchanged(
    api, user, django_capture_on_commit_callbacks, action, state
):
    app = make_application(user, "web", state=state, containers=2)
    container_states = list(app.containers.values_list("state", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{app_uri(app)}{action}/")
    assert response.status_code == 202
    assert response.json()["state"] == state
    app.refresh_from_db()
    assert app.state == state
    assert list(app.containers.values_list("state", flat=True)) == container_states
    assert callbacks == []


def test_stop_a_running_application(api, running, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{app_uri(running)}stop/")
    assert response.status_code == 202
    assert response.json()["state"] == "Stopping"
    assert set(running.containers.values_list("state", flat=True)) == {CS.STOPPING}
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(running.uuid)])]


def test_terminate_an_application(api, running, django_capture_on_commit_callbacks):
    Container.objects.filter(service=running, number=2).update(state=CS.STOPPED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.delete(app_uri(running))
    assert response.status_code == 202
    body = response.json()
    assert set(body) == APPLICATION_DETAIL_KEYS | EXTRA_KEYS
    assert body["state"] == "Terminating"
    assert body["destroyed_datetime"] is None
    assert set(running.containers.values_list("state", flat=True)) == {CS.TERMINATING}
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(running.uuid)])]
    # Still readable while terminating.
    assert api.get(app_uri(running)).json()["state"] == "Terminating"


@pytest.mark.parametrize("body", [{"tag": "2.0"}, {"tag": None}, {}])
def test_redeploy(api, running, django_capture_on_commit_callbacks, body):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{app_uri(running)}redeploy/", body, format="json")
    assert response.status_code == 202, response.content
    app = response.json()
    assert app["state"] == "Redeploying"
    tag = body.get("tag") or "latest"
    assert app["image_tag"] == f"/api/v1/image/tutum/hello-world/tag/{tag}/"
    assert app["image_name"] == f"tutum/hello-world:{tag}"
    running.refresh_from_db()
    assert running.generation == 2
    # Containers are replaced one at a time by the controller, not all at once here.
    assert set(running.containers.values_list("state", flat=True)) == {CS.RUNNING}
    assert woken(callbacks) == [(CONVERGE_SERVICE, [str(running.uuid)])]


def test_redeploy_refuses_a_bad_tag(api, running):
    assert_validation_error(api.post(f"{app_uri(running)}redeploy/", {"tag": "no spaces"}, format="json"), "tag")
    running.refresh_from_db()
    assert (running.state, running.generation, running.image_tag_name) == ("Running", 1, "latest")


@pytest.mark.parametrize(
    ("method", "action", "state"),
    [
        ("post", "stop", AS.START_FAILED),
        ("post", "stop", AS.STOPPED_WITH_ERRORS),
        ("post", "stop", AS.STARTING),
        ("post", "stop", AS.TERMINATED),
        ("post", "start", AS.SCALING),
        ("post", "start", AS.TERMINATING),
        ("post", "start", AS.TERMINATED),
        ("post", "redeploy", AS.STARTING),
        ("post", "redeploy", AS.REDEPLOYING),
        ("post", "redeploy", AS.START_FAILED),
        ("post", "redeploy", AS.TERMINATED),
        ("delete", "", AS.TERMINATING),
        ("delete", "", AS.TERMINATED),
    ],
)
def test_action_in_an_unsuitable_state_is_400_naming_the_state(
    api, running, django_capture_on_commit_callbacks, method, action, state
):
    set_state(running, state)
    container_states = list(running.containers.values_list("state", flat=True))
    path = f"{app_uri(running)}{action}/" if action else app_uri(running)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = getattr(api, method)(path, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert state in body["error"]
    running.refresh_from_db()
    assert (running.state, running.generation) == (state, 1)
    assert list(running.containers.values_list("state", flat=True)) == container_states
    assert callbacks == []


def test_terminate_twice_is_400(api, running):
    assert api.delete(app_uri(running)).status_code == 202
    response = api.delete(app_uri(running))
    assert response.status_code == 400
    assert "Terminating" in response.json()["error"]


def test_logs_of_an_application_without_docker_containers(api, running):
    response = api.get(f"{app_uri(running)}logs/")
    assert response.status_code == 200
    assert response.json() == {"logs": ""}


# ---------------------------------------------------------------- 401 and 404


ENDPOINTS = [
    ("get", "/api/v1/application/"),
    ("post", "/api/v1/application/"),
    ("get", "{uri}"),
    ("patch", "{uri}"),
    ("delete", "{uri}"),
    ("post", "{uri}start/"),
    ("post", "{uri}stop/"),
    ("post", "{uri}redeploy/"),
    ("get", "{uri}logs/"),
]


@pytest.mark.parametrize("credentials", ["none", "wrong-key", "unknown-user"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_credentials(make_client, user, running, method, path, credentials):
    client = make_client()
    if credentials == "wrong-key":
        client = make_client(user, key="not-the-key")
    elif credentials == "unknown-user":
        client.credentials(HTTP_AUTHORIZATION="ApiKey mallory:whatever")
    before = _row_counts()
    payload = {"image": "tutum/hello-world", "target_num_containers": 5} if method in ("post", "patch") else None
    response = getattr(client, method)(path.format(uri=app_uri(running)), payload, format="json")
    assert response.status_code == 401, response.content
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert _row_counts() == before
    running.refresh_from_db()
    assert (running.state, running.target_num_containers) == ("Running", 2)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[2:])
def test_another_users_application_is_404_for_every_operation(
    other_api, running, django_capture_on_commit_callbacks, method, path
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        payload = {"target_num_containers": 5} if method in ("post", "patch") else None
        response = getattr(other_api, method)(path.format(uri=app_uri(running)), payload, format="json")
    assert response.status_code == 404, response.content
    assert response.json() == {"error": "Not found."}
    assert callbacks == []
    running.refresh_from_db()
    assert (running.state, running.target_num_containers) == ("Running", 2)
    assert set(running.containers.values_list("state", flat=True)) == {CS.RUNNING}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[2:])
def test_an_unknown_uuid_is_404(api, method, path):
    response = getattr(api, method)(path.format(uri=f"/api/v1/application/{uuid.uuid4()}/"), format="json")
    assert response.status_code == 404
    assert response.json()["error"]

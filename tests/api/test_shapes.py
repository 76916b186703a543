"""What applications and containers look like on the wire: keys, datetimes, URIs, filters, retention, query counts."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as dj_timezone

from apps.containers.models import Container
from apps.services.models import Service

from .app_support import (
    APPLICATION_DETAIL_KEYS,
    APPLICATION_ENVVAR_KEYS,
    APPLICATION_LIST_KEYS,
    APPLICATION_PORT_KEYS,
    AS,
    CONTAINER_2015_DETAIL_KEYS,
    CONTAINER_2015_KEYS,
    CONTAINER_2015_PORT_KEYS,
    CONTAINER_DETAIL_KEYS,
    CONTAINER_ENVVAR_KEYS,
    CONTAINER_LIST_KEYS,
    CONTAINER_PORT_KEYS,
    CS,
    DATETIME_FIELDS,
    EXTRA_KEYS,
    RFC2822,
    app_uri,
    container_uri,
    make_application,
    make_container,
)

pytestmark = pytest.mark.django_db

APPS = "/api/v1/application/"
CONTAINERS = "/api/v1/container/"
SPEC_DATETIME = datetime(2014, 4, 6, 17, 59, 42, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _objects(api, path, **params):
    response = api.get(path, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["total_count"] == len(body["objects"]) or body["meta"]["next"] is not None
    return body["objects"]


def _names(objects, key="unique_name"):
    return sorted(o[key] for o in objects)


# ---------------------------------------------------------------- keys


@pytest.fixture
def web(user, other_user):
    """alice's web app (2 running containers, port 80, one variable) linked to her db; bob has one too."""
    db = make_application(user, "db", ports=(5432,))
    web = make_application(
        user, "web", containers=2, envvars={"ENVIRONMENT": "dev"}, web_public_dns="myapp.example.com"
    )
    web.linked_to.add(db)
    make_application(other_user, "web")
    return web


def test_application_list_objects_have_the_keys_of_the_spec_example(api, web):
    objects = _objects(api, APPS)
    assert len(objects) == 2
    for app in objects:
        assert set(app) == APPLICATION_LIST_KEYS | EXTRA_KEYS
        for port in app["container_ports"]:
            assert set(port) == APPLICATION_PORT_KEYS
    (app,) = [a for a in objects if a["name"] == "web"]
    uri = app_uri(web)
    assert app["container_ports"] == [{"application": uri, "inner_port": 80, "outer_port": None, "protocol": "tcp"}]
    assert app["resource_uri"] == uri and app["uuid"] == str(web.uuid)
    assert app["image_tag"] == "/api/v1/image/tutum/hello-world/tag/latest/"
    assert app["image_name"] == "tutum/hello-world:latest"
    assert app["public_dns"] == f"web-alice.{django_settings.TUTUM_PUBLIC_DOMAIN}"
    assert app["web_public_dns"] == "myapp.example.com"
    assert (app["current_num_containers"], app["running_num_containers"], app["stopped_num_containers"]) == (2, 2, 0)
    assert app["target_num_containers"] == 2


def test_application_detail_has_the_keys_of_the_spec_example(api, web):
    response = api.get(app_uri(web))
    assert response.status_code == 200
    app = response.json()
    assert set(app) == APPLICATION_DETAIL_KEYS | EXTRA_KEYS
    uri = app_uri(web)
    assert [set(e) for e in app["container_envvars"]] == [APPLICATION_ENVVAR_KEYS]
    assert app["container_envvars"] == [{"application": uri, "key": "ENVIRONMENT", "value": "dev"}]
    assert [set(p) for p in app["container_ports"]] == [APPLICATION_PORT_KEYS]
    containers = list(web.containers.order_by("number"))
    assert app["containers"] == [container_uri(c) for c in containers]
    assert app["linked_to_application"] == [app_uri(web.linked_to.get())]
    assert app["linked_from_application"] == []
    assert app["roles"] == []
    domain = django_settings.TUTUM_PUBLIC_DOMAIN
    outer = {c.number: c.ports.get().outer_port for c in containers}
    expected = {"WEB_TUTUM_API_URL": f"{django_settings.TUTUM_API_URL}{uri}"}
    for n in (1, 2):
        dns = f"web-{n}-alice.{domain}"
        expected |= {
            f"WEB_{n}_PORT": f"tcp://{dns}:{outer[n]}",
            f"WEB_{n}_PORT_80_TCP": f"tcp://{dns}:{outer[n]}",
            f"WEB_{n}_PORT_80_TCP_ADDR": dns,
            f"WEB_{n}_PORT_80_TCP_PORT": str(outer[n]),
            f"WEB_{n}_PORT_80_TCP_PROTO": "tcp",
        }
    assert app["link_variables"] == expected


def test_container_list_objects_have_the_keys_of_the_spec_example(api, web):
    objects = _objects(api, CONTAINERS)
    assert _names(objects) == ["db-1", "web-1", "web-2"]
    for container in objects:
        # Every key of the 2014 example, and the 2015 container's beside them (both clients ignore the others').
        assert set(container) == CONTAINER_LIST_KEYS | EXTRA_KEYS | CONTAINER_2015_KEYS
        for port in container["container_ports"]:
            assert set(port) == CONTAINER_PORT_KEYS | CONTAINER_2015_PORT_KEYS
    first = web.containers.get(number=1)
    (item,) = [c for c in objects if c["unique_name"] == "web-1"]
    assert item["application"] == app_uri(web)
    assert item["resource_uri"] == container_uri(first) and item["uuid"] == str(first.uuid)
    assert item["name"] == "web"
    assert item["public_dns"] == f"web-1-alice.{django_settings.TUTUM_PUBLIC_DOMAIN}"
    assert [{key: port[key] for key in CONTAINER_PORT_KEYS} for port in item["container_ports"]] == [
        {
            "container": container_uri(first),
            "inner_port": 80,
            "outer_port": first.ports.get().outer_port,
            "protocol": "tcp",
        }
    ]
    assert item["image_tag"] == "/api/v1/image/tutum/hello-world/tag/latest/"
    assert item["image_name"] == "tutum/hello-world:latest"
    assert (item["exit_code"], item["exit_code_msg"]) == (None, None)
    assert (item["autorestart"], item["container_size"], item["state"]) == ("OFF", "XS", "Running")


def test_container_detail_has_the_keys_of_the_spec_example(api, web):
    first = web.containers.get(number=1)
    response = api.get(container_uri(first))
    assert response.status_code == 200
    container = response.json()
    assert set(container) == CONTAINER_DETAIL_KEYS | EXTRA_KEYS | CONTAINER_2015_DETAIL_KEYS
    uri = container_uri(first)
    assert container["container_envvars"] == [{"container": uri, "key": "ROLE", "value": "c1"}]
    assert [set(e) for e in container["container_envvars"]] == [CONTAINER_ENVVAR_KEYS]
    outer = first.ports.get().outer_port
    dns = f"web-1-alice.{django_settings.TUTUM_PUBLIC_DOMAIN}"
    assert container["link_variables"] == {
        "WEB_1_PORT": f"tcp://{dns}:{outer}",
        "WEB_1_PORT_80_TCP": f"tcp://{dns}:{outer}",
        "WEB_1_PORT_80_TCP_ADDR": dns,
        "WEB_1_PORT_80_TCP_PORT": str(outer),
        "WEB_1_PORT_80_TCP_PROTO": "tcp",
    }
    assert container["linked_to_application"] == [app_uri(web.linked_to.get())]
    assert container["linked_from_application"] == []
    assert container["roles"] == []


def test_exit_codes_are_shown(api, user):
    app = make_application(user, "job", state=AS.STOPPED_WITH_ERRORS)
    Container.objects.filter(service=app).update(state=CS.STOPPED, exit_code=3, exit_code_msg="Exit code 3")
    (item,) = _objects(api, CONTAINERS)
    assert (item["exit_code"], item["exit_code_msg"]) == (3, "Exit code 3")


# ---------------------------------------------------------------- datetimes and URIs


def test_datetimes_are_null_or_rfc2822_in_utc(api, user):
    app = make_application(user, "web")
    paris = timezone(timedelta(hours=2))
    Service.objects.filter(pk=app.pk).update(
        deployed_datetime=SPEC_DATETIME,
        started_datetime=datetime(2014, 4, 16, 20, 1, 2, tzinfo=paris),
        stopped_datetime=None,
    )
    Container.objects.filter(service=app).update(started_datetime=SPEC_DATETIME)

    for payload in (_objects(api, APPS)[0], api.get(app_uri(app)).json()):
        assert payload["deployed_datetime"] == "Sun, 6 Apr 2014 17:59:42 +0000"
        assert payload["started_datetime"] == "Wed, 16 Apr 2014 18:01:02 +0000"
        assert payload["stopped_datetime"] is None and payload["destroyed_datetime"] is None
    container = app.containers.get()
    for payload in (_objects(api, CONTAINERS)[0], api.get(container_uri(container)).json()):
        assert payload["started_datetime"] == "Sun, 6 Apr 2014 17:59:42 +0000"
        for field in DATETIME_FIELDS:
            assert payload[field] is None or RFC2822.match(payload[field]), (field, payload[field])


def test_fresh_datetimes_match_rfc2822(api, user):
    app = make_application(user, "web")
    now = dj_timezone.now()
    Service.objects.filter(pk=app.pk).update(
        deployed_datetime=now, started_datetime=now, stopped_datetime=now, destroyed_datetime=now
    )
    payload = api.get(app_uri(app)).json()
    for field in DATETIME_FIELDS:
        assert RFC2822.match(payload[field]), payload[field]


@pytest.mark.parametrize(
    ("repository", "tag", "uri"),
    [
        ("tutum/hello-world", "latest", "/api/v1/image/tutum/hello-world/tag/latest/"),
        ("ubuntu", "14.04", "/api/v1/image/ubuntu/tag/14.04/"),
        ("127.0.0.1:5000/team/app", "v1.2", "/api/v1/image/127.0.0.1:5000/team/app/tag/v1.2/"),
    ],
)
def test_image_tag_is_the_uri_of_the_image_tag(api, user, repository, tag, uri):
    app = make_application(user, "web", image=repository, tag=tag)
    assert api.get(app_uri(app)).json()["image_tag"] == uri
    assert api.get(app_uri(app)).json()["image_name"] == f"{repository}:{tag}"
    assert _objects(api, CONTAINERS)[0]["image_tag"] == uri


# ---------------------------------------------------------------- filters


@pytest.fixture
def fleet(user, other_user):
    """alice: web (Running, 2 containers), web-2 (named web, Stopped), db (Partly running); bob: web."""
    apps = {
        "web": make_application(user, "web", containers=2, uuid=uuid.UUID("abcd1111-0000-4000-8000-000000000001")),
        "web-2": make_application(
            user,
            "web",
            unique_name="web-2",
            state=AS.STOPPED,
            uuid=uuid.UUID("abcd2222-0000-4000-8000-000000000002"),
        ),
        "db": make_application(
            user, "db", state=AS.PARTLY_RUNNING, containers=0, uuid=uuid.UUID("ef001111-0000-4000-8000-000000000003")
        ),
        "bobs": make_application(other_user, "web", uuid=uuid.UUID("abcd1111-0000-4000-8000-00000000000b")),
    }
    db = apps["db"]
    make_container(db, 1, state=CS.RUNNING, uuid=uuid.UUID("c0ffee11-0000-4000-8000-000000000001"))
    make_container(db, 2, state=CS.STOPPED, uuid=uuid.UUID("c0ffee22-0000-4000-8000-000000000002"))
    return apps


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["db", "web", "web-2"]),
        ({"name": "web"}, ["web", "web-2"]),
        ({"name": "db"}, ["db"]),
        ({"name": "nope"}, []),
        ({"unique_name": "web"}, ["web"]),
        ({"unique_name": "web-2"}, ["web-2"]),
        ({"uuid": "abcd1111-0000-4000-8000-000000000001"}, ["web"]),
        ({"uuid": "ABCD2222-0000-4000-8000-000000000002"}, ["web-2"]),
        ({"uuid": "abcd1111-0000-4000-8000-00000000000b"}, []),
        ({"uuid__startswith": "abcd"}, ["web", "web-2"]),
        ({"uuid__startswith": "abcd1"}, ["web"]),
        ({"uuid__startswith": "ABCD2"}, ["web-2"]),
        ({"uuid__startswith": "ef001111-0000"}, ["db"]),
        ({"uuid__startswith": "ffff"}, []),
        ({"state": "Running"}, ["web"]),
        ({"state": "Stopped"}, ["web-2"]),
        ({"state": "Partly running"}, ["db"]),
        ({"state": "Starting"}, []),
        ({"name": "web", "state": "Stopped"}, ["web-2"]),
    ],
)
def test_application_filters(api, fleet, params, expected):
    objects = _objects(api, APPS, **params)
    assert _names(objects) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["db-1", "db-2", "web-1", "web-2", "web-2-1"]),
        ({"unique_name": "web-2"}, ["web-2"]),
        ({"unique_name": "web-2-1"}, ["web-2-1"]),
        ({"uuid": "c0ffee22-0000-4000-8000-000000000002"}, ["db-2"]),
        ({"uuid__startswith": "c0ffee"}, ["db-1", "db-2"]),
        ({"uuid__startswith": "C0FFEE1"}, ["db-1"]),
        ({"state": "Stopped"}, ["db-2", "web-2-1"]),
        ({"state": "Running"}, ["db-1", "web-1", "web-2"]),
        ({"name": "web"}, ["web-1", "web-2", "web-2-1"]),
        ({"name": "db"}, ["db-1", "db-2"]),
        ({"application__name": "web"}, ["web-1", "web-2", "web-2-1"]),
        ({"application__uuid": "abcd1111-0000-4000-8000-000000000001"}, ["web-1", "web-2"]),
        ({"application__uuid": "abcd1111-0000-4000-8000-00000000000b"}, []),
        ({"application__uuid__startswith": "abcd"}, ["web-1", "web-2", "web-2-1"]),
        ({"application__uuid__startswith": "abcd2"}, ["web-2-1"]),
        ({"application__unique_name": "web-2"}, ["web-2-1"]),
        ({"application__unique_name": "web"}, ["web-1", "web-2"]),
        ({"application__state": "Partly running"}, ["db-1", "db-2"]),
        ({"application__state": "Stopped"}, ["web-2-1"]),
        ({"application__state": "Running", "state": "Stopped"}, []),
        ({"application__name": "db", "state": "Stopped"}, ["db-2"]),
    ],
)
def test_container_filters(api, fleet, params, expected):
    objects = _objects(api, CONTAINERS, **params)
    assert _names(objects) == expected


def test_filters_keep_other_users_objects_out(other_api, fleet):
    assert [a["uuid"] for a in _objects(other_api, APPS, name="web")] == [str(fleet["bobs"].uuid)]
    assert _objects(other_api, APPS, uuid__startswith="abcd2") == []
    assert _names(_objects(other_api, CONTAINERS, application__name="web")) == ["web-1"]
    assert _objects(other_api, CONTAINERS, application__uuid=str(fleet["web"].uuid)) == []


# ---------------------------------------------------------------- terminated objects


def _terminate(service, seconds_ago):
    when = dj_timezone.now() - timedelta(seconds=seconds_ago)
    Service.objects.filter(pk=service.pk).update(state=AS.TERMINATED, destroyed_datetime=when)
    Container.objects.filter(service=service).update(state=CS.TERMINATED, destroyed_datetime=when)


def test_terminated_objects_are_listed_during_the_retention_period_then_omitted(api, user):
    assert django_settings.TUTUM_TERMINATED_RETENTION_SECONDS == 300
    live = make_application(user, "live")
    recent = make_application(user, "recent")
    old = make_application(user, "old")
    _terminate(recent, 290)
    _terminate(old, 310)

    assert _names(_objects(api, APPS)) == ["live", "recent"]
    assert _names(_objects(api, APPS, state="Terminated")) == ["recent"]
    assert _names(_objects(api, CONTAINERS)) == ["live-1", "recent-1"]
    assert api.get(APPS).json()["meta"]["total_count"] == 2
    # Always readable by uuid, in lists by uuid filter too only while retained.
    for service in (recent, old):
        detail = api.get(app_uri(service))
        assert detail.status_code == 200
        assert detail.json()["state"] == "Terminated"
        assert RFC2822.match(detail.json()["destroyed_datetime"])
        container = service.containers.get()
        assert api.get(container_uri(container)).json()["state"] == "Terminated"
    assert _objects(api, APPS, uuid=str(old.uuid)) == []
    assert live.state == AS.RUNNING


def test_retention_period_follows_the_setting(api, user, settings):
    settings.TUTUM_TERMINATED_RETENTION_SECONDS = 60
    app = make_application(user, "gone")
    _terminate(app, 120)
    assert _objects(api, APPS) == []
    assert _objects(api, CONTAINERS) == []
    settings.TUTUM_TERMINATED_RETENTION_SECONDS = 600
    assert _names(_objects(api, APPS)) == ["gone"]
    assert _names(_objects(api, CONTAINERS)) == ["gone-1"]


def test_terminated_containers_of_a_live_application_follow_their_own_destroyed_datetime(api, user):
    app = make_application(user, "web", containers=3)
    now = dj_timezone.now()
    Container.objects.filter(service=app, number=2).update(
        state=CS.TERMINATED, destroyed_datetime=now - timedelta(seconds=10)
    )
    Container.objects.filter(service=app, number=3).update(
        state=CS.TERMINATED, destroyed_datetime=now - timedelta(seconds=1000)
    )
    assert _names(_objects(api, CONTAINERS)) == ["web-1", "web-2"]
    detail = api.get(app_uri(app)).json()
    # The application lists only its containers that are not terminated.
    assert detail["containers"] == [container_uri(app.containers.get(number=1))]
    assert detail["current_num_containers"] == 1


# ---------------------------------------------------------------- query counts


def _populate(owner, count):
    for i in range(count):
        app = make_application(owner, f"app{i}", containers=2, ports=(80, 443), envvars={"A": "1", "B": "2"})
        app.linked_to.add(app)


def _queries(api, path) -> tuple[int, dict]:
    """Queries of one request, after a first one has recorded the key's `last_used` (at most once a minute)."""
    assert api.get(path).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries), response.json()


@pytest.mark.parametrize(("path", "per_app"), [(APPS + "?limit=100", 1), (CONTAINERS + "?limit=100", 2)])
def test_list_endpoints_run_the_same_number_of_queries_for_1_and_30_objects(api, user, path, per_app):
    _populate(user, 1)
    few, body = _queries(api, path)
    assert len(body["objects"]) == per_app
    _populate(user, 29)
    many, body = _queries(api, path)
    assert len(body["objects"]) == 30 * per_app
    assert few == many
    assert many <= 6


@pytest.mark.parametrize("path", [APPS, CONTAINERS])
def test_filtered_lists_also_run_a_constant_number_of_queries(api, user, path):
    _populate(user, 30)
    queries, body = _queries(api, path + "?state=Running&limit=100")
    assert len(body["objects"]) >= 30
    assert queries <= 6


def test_detail_query_count_does_not_grow_with_containers(api, user):
    small = make_application(user, "small", containers=1)
    big = make_application(user, "big", containers=30)
    few, _ = _queries(api, app_uri(small))
    many, body = _queries(api, app_uri(big))
    assert len(body["containers"]) == 30
    assert few == many


def test_container_counts_of_an_application(api, user):
    app = make_application(user, "web", state=AS.PARTLY_RUNNING, containers=0, target_num_containers=4)
    for number, state in enumerate(
        [CS.RUNNING, CS.RUNNING, CS.STOPPED, CS.START_FAILED, CS.STARTING, CS.TERMINATING, CS.TERMINATED], start=1
    ):
        make_container(app, number, state=state)
    for payload in (_objects(api, APPS)[0], api.get(app_uri(app)).json()):
        assert payload["current_num_containers"] == 6
        assert payload["running_num_containers"] == 2
        assert payload["stopped_num_containers"] == 1
        assert payload["target_num_containers"] == 4


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        (APPS, "state", "Sleeping"),
        (APPS, "uuid", "not-a-uuid"),
        (CONTAINERS, "state", "Partly running"),
        (CONTAINERS, "application__state", "Sleeping"),
        (CONTAINERS, "application__uuid", "1234"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_filter(api, fleet, path, field, value):
    response = api.get(path, {field: value})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]

"""Wire conventions shared by every resource: the list envelope, datetimes, errors, headers, URLs."""

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.containers.models import Container
from apps.core.datetimes import format_rfc2822
from apps.services.models import Service

LIST = "/api/v1/application/"
CONTAINERS = "/api/v1/container/"


def make_apps(owner, count: int, name: str = "app") -> list[Service]:
    """Applications straight in the database: the list endpoints need rows, not a controller."""
    return Service.objects.bulk_create(
        Service(
            owner=owner,
            name=name,
            unique_name=f"{name}-{n}" if n > 1 else name,
            image_repository="local/busybox",
            state="Stopped",
            target_num_containers=0,
        )
        for n in range(1, count + 1)
    )


def create(api, **fields):
    response = api.post(LIST, {"image": "local/busybox", **fields}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def query(uri: str) -> dict:
    return {k: v for k, (v,) in parse_qs(urlsplit(uri).query).items()}


def assert_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


# ---------------------------------------------------------------- RFC 2822 datetimes


def test_rfc2822_single_digit_day_is_not_padded():
    value = datetime(2014, 4, 6, 17, 59, 42, tzinfo=UTC)
    assert format_rfc2822(value) == "Sun, 6 Apr 2014 17:59:42 +0000"


def test_rfc2822_two_digit_day_and_padded_time():
    value = datetime(2014, 12, 25, 3, 4, 5, tzinfo=UTC)
    assert format_rfc2822(value) == "Thu, 25 Dec 2014 03:04:05 +0000"


def test_rfc2822_converts_other_zones_to_utc():
    plus_two = timezone(timedelta(hours=2))
    assert format_rfc2822(datetime(2014, 4, 6, 19, 59, 42, tzinfo=plus_two)) == "Sun, 6 Apr 2014 17:59:42 +0000"
    # Crossing midnight backwards changes the day, the weekday and here the month and year.
    minus_five = timezone(timedelta(hours=-5))
    assert format_rfc2822(datetime(2013, 12, 31, 22, 0, 0, tzinfo=minus_five)) == "Wed, 1 Jan 2014 03:00:00 +0000"


def test_rfc2822_ignores_microseconds_and_keeps_none():
    assert format_rfc2822(datetime(2015, 2, 28, 0, 0, 0, 999999, tzinfo=UTC)) == "Sat, 28 Feb 2015 00:00:00 +0000"
    assert format_rfc2822(None) is None


def test_rfc2822_is_english_for_every_weekday_and_month():
    days = [format_rfc2822(datetime(2014, 4, d, tzinfo=UTC))[:3] for d in range(7, 14)]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = [format_rfc2822(datetime(2014, m, 1, tzinfo=UTC)).split()[2] for m in range(1, 13)]
    assert months == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@pytest.mark.django_db
def test_api_renders_datetimes_as_rfc2822(api, user):
    (app,) = make_apps(user, 1)
    Service.objects.filter(pk=app.pk).update(started_datetime=datetime(2014, 4, 6, 17, 59, 42, tzinfo=UTC))
    body = api.get(f"{LIST}{app.uuid}/").json()
    assert body["started_datetime"] == "Sun, 6 Apr 2014 17:59:42 +0000"
    assert body["stopped_datetime"] is None
    assert body["destroyed_datetime"] is None
    listed = api.get(LIST).json()["objects"][0]
    assert listed["started_datetime"] == "Sun, 6 Apr 2014 17:59:42 +0000"


# ---------------------------------------------------------------- pagination


@pytest.mark.django_db
def test_list_defaults(api, user):
    apps = make_apps(user, 30)
    body = api.get(LIST).json()
    assert set(body) == {"meta", "objects"}
    assert body["meta"] == {
        "limit": 25,
        "next": "/api/v1/application/?limit=25&offset=25",
        "offset": 0,
        "previous": None,
        "total_count": 30,
    }
    assert [o["uuid"] for o in body["objects"]] == [str(a.uuid) for a in apps[:25]]


@pytest.mark.django_db
def test_following_next_and_previous_walks_every_object_once(api, user):
    apps = make_apps(user, 30)
    seen, uri = [], f"{LIST}?limit=7"
    while uri:
        body = api.get(uri).json()
        seen += [o["uuid"] for o in body["objects"]]
        uri = body["meta"]["next"]
    assert seen == [str(a.uuid) for a in apps]
    last = api.get(f"{LIST}?limit=7&offset=28").json()
    assert len(last["objects"]) == 2
    assert last["meta"]["next"] is None
    assert query(last["meta"]["previous"]) == {"limit": "7", "offset": "21"}
    previous = api.get(last["meta"]["previous"]).json()
    assert [o["uuid"] for o in previous["objects"]] == [str(a.uuid) for a in apps[21:28]]


@pytest.mark.django_db
def test_previous_never_goes_below_zero(api, user):
    make_apps(user, 30)
    meta = api.get(f"{LIST}?limit=10&offset=4").json()["meta"]
    assert query(meta["previous"]) == {"limit": "10", "offset": "0"}
    assert query(meta["next"]) == {"limit": "10", "offset": "14"}


@pytest.mark.django_db
def test_limit_over_100_is_capped(api, user):
    make_apps(user, 105)
    body = api.get(f"{LIST}?limit=500").json()
    assert body["meta"]["limit"] == 100
    assert len(body["objects"]) == 100
    assert body["meta"]["total_count"] == 105
    assert query(body["meta"]["next"]) == {"limit": "100", "offset": "100"}


@pytest.mark.django_db
def test_limit_zero_means_the_maximum(api, user):
    make_apps(user, 105)
    body = api.get(f"{LIST}?limit=0").json()
    assert body["meta"]["limit"] == 100
    assert len(body["objects"]) == 100


@pytest.mark.django_db
def test_empty_limit_and_offset_mean_the_defaults(api, user):
    make_apps(user, 3)
    meta = api.get(f"{LIST}?limit=&offset=").json()["meta"]
    assert (meta["limit"], meta["offset"]) == (25, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=2.5", "limit"),
        ("offset=-5", "offset"),
        ("offset=xyz", "offset"),
    ],
)
def test_bad_limit_or_offset_is_400_naming_the_field(api, user, params, field):
    make_apps(user, 3)
    body = assert_error(api.get(f"{LIST}?{params}"), 400)
    assert field in body["error"]
    assert field in body["fields"]


@pytest.mark.django_db
def test_offset_past_the_end_is_an_empty_page(api, user):
    make_apps(user, 30)
    body = api.get(f"{LIST}?offset=200").json()
    assert body["objects"] == []
    assert body["meta"]["total_count"] == 30
    assert body["meta"]["offset"] == 200
    assert body["meta"]["next"] is None
    assert query(body["meta"]["previous"]) == {"limit": "25", "offset": "175"}


@pytest.mark.django_db
def test_offset_exactly_at_the_end_is_an_empty_page(api, user):
    make_apps(user, 25)
    body = api.get(f"{LIST}?offset=25").json()
    assert body["objects"] == []
    assert body["meta"]["total_count"] == 25
    assert api.get(LIST).json()["meta"]["next"] is None


def _count_queries(api, path) -> tuple[int, dict]:
    api.get(path)  # the key's `last_used` is written at most once a minute: not in the measured request
    with CaptureQueriesContext(connection) as captured:
        body = api.get(path).json()
    return sum("COUNT(*)" in q["sql"] and "LIMIT" not in q["sql"] for q in captured.captured_queries), body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "apps, params, counted, total, shown",
    [
        (3, "", False, 3, 3),  # a first page that is not full ends the list
        (0, "", False, 0, 0),
        (30, "offset=25", False, 30, 5),
        (30, "", True, 30, 25),  # a full page may be followed by more
        (25, "", True, 25, 25),
        (30, "offset=30", True, 30, 0),  # an empty page past the first says nothing of the total
        (30, "offset=200", True, 30, 0),
    ],
)
def test_the_total_is_counted_only_when_the_page_cannot_tell_it(api, user, apps, params, counted, total, shown):
    make_apps(user, apps)
    count_queries, body = _count_queries(api, f"{LIST}?{params}")
    assert count_queries == (1 if counted else 0)
    assert body["meta"]["total_count"] == total
    assert len(body["objects"]) == shown


@pytest.mark.django_db
def test_next_and_previous_keep_the_filters(api, user, other_user):
    wanted = make_apps(user, 30, name="x")
    make_apps(user, 10, name="y")
    make_apps(other_user, 5, name="x")
    body = api.get(f"{LIST}?name=x&limit=10&offset=10").json()
    assert body["meta"]["total_count"] == 30
    assert {o["name"] for o in body["objects"]} == {"x"}
    for uri in (body["meta"]["next"], body["meta"]["previous"]):
        assert uri.startswith("/api/v1/application/?")
        assert query(uri)["name"] == "x"
    assert query(body["meta"]["next"]) == {"name": "x", "limit": "10", "offset": "20"}
    assert query(body["meta"]["previous"]) == {"name": "x", "limit": "10", "offset": "0"}
    following = api.get(body["meta"]["next"]).json()
    assert [o["uuid"] for o in following["objects"]] == [str(a.uuid) for a in wanted[20:30]]
    assert following["meta"]["next"] is None


@pytest.mark.django_db
def test_empty_list(api, user):
    assert api.get(LIST).json() == {
        "meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": 0},
        "objects": [],
    }


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_page(api, user, django_assert_max_num_queries):
    for n in range(3):
        create(api, name=f"counted{n}", target_num_containers=2)
    make_apps(user, 40)
    with django_assert_max_num_queries(6):
        assert len(api.get(f"{LIST}?limit=100").json()["objects"]) == 43
    with django_assert_max_num_queries(6):
        assert len(api.get(f"{CONTAINERS}?limit=100").json()["objects"]) == 6


@pytest.mark.django_db
def test_container_list_has_the_same_envelope(api):
    create(api, name="web", target_num_containers=3)
    body = api.get(f"{CONTAINERS}?limit=2").json()
    assert body["meta"]["total_count"] == 3
    assert body["meta"]["limit"] == 2
    assert query(body["meta"]["next"]) == {"limit": "2", "offset": "2"}
    assert [o["unique_name"] for o in body["objects"]] == ["web-1", "web-2"]


# ---------------------------------------------------------------- not found, another user's objects


@pytest.mark.django_db
def test_another_users_application_is_404(api, other_api):
    app = create(api, name="private", target_num_containers=1)
    uri = app["resource_uri"]
    assert_error(other_api.get(uri), 404)
    assert_error(other_api.patch(uri, {"target_num_containers": 3}, format="json"), 404)
    assert_error(other_api.delete(uri), 404)
    for operation in ("start", "stop", "redeploy"):
        assert_error(other_api.post(f"{uri}{operation}/", {}, format="json"), 404)
    assert_error(other_api.get(f"{uri}logs/"), 404)
    assert other_api.get(LIST).json()["meta"]["total_count"] == 0
    assert other_api.get(f"{LIST}?name=private").json()["objects"] == []
    row = Service.objects.get(uuid=app["uuid"])
    assert (row.state, row.target_num_containers) == ("Starting", 1)
    assert api.get(uri).status_code == 200


@pytest.mark.django_db
def test_another_users_container_is_404(api, other_api):
    app = create(api, name="private", target_num_containers=1)
    (uri,) = app["containers"]
    assert_error(other_api.get(uri), 404)
    assert_error(other_api.delete(uri), 404)
    assert_error(other_api.post(f"{uri}stop/", {}, format="json"), 404)
    assert_error(other_api.get(f"{uri}logs/"), 404)
    assert other_api.get(CONTAINERS).json()["meta"]["total_count"] == 0
    assert Container.objects.get(uuid=uri.rstrip("/").rsplit("/", 1)[1]).state == "Starting"
    assert api.get(uri).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing/",
        "/api/v1/nothing",
        "/api/v1/",
        f"/api/v1/application/{uuid4()}/",
        f"/api/v1/container/{uuid4()}/",
        "/api/v1/application/not-a-uuid/",
        "/api/v1/application/list/extra/",
        "/api/v2/application/",
    ],
)
def test_unknown_urls_are_404_json(api, path):
    assert_error(api.get(path), 404)


@pytest.mark.django_db
def test_unknown_urls_are_404_json_without_credentials():
    assert_error(APIClient().get("/api/v1/nothing/"), 404)


# ---------------------------------------------------------------- methods and bodies


@pytest.mark.django_db
def test_unsupported_method_is_405_json(api):
    app = create(api, name="m")
    body = assert_error(api.put(app["resource_uri"], {"target_num_containers": 2}, format="json"), 405)
    assert "PUT" in body["error"]
    response = api.put(app["resource_uri"], {}, format="json")
    assert "PATCH" in response["Allow"] and "PUT" not in response["Allow"]
    assert_error(api.put(LIST, {}, format="json"), 405)
    assert_error(api.post(CONTAINERS, {"image": "local/busybox"}, format="json"), 405)
    assert_error(api.patch(app["containers"][0], {}, format="json"), 405)
    assert_error(api.post(f"{app['resource_uri']}logs/", {}, format="json"), 405)
    assert Service.objects.get(uuid=app["uuid"]).target_num_containers == 1


@pytest.mark.django_db
def test_non_json_body_is_415(api):
    response = api.post(LIST, "image=local/busybox", content_type="text/plain")
    assert_error(response, 415)
    response = api.post(LIST, "image=local%2Fbusybox", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415)
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400(api):
    assert_error(api.post(LIST, "{not json", content_type="application/json"), 400)
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_empty_json_body_is_fine_on_bodiless_requests(api, user):
    app = create(api, name="e")
    uri = app["resource_uri"]
    # The official clients send Content-Type: application/json and Accept: */* on every request.
    headers = {"HTTP_ACCEPT": "*/*"}
    response = api.post(f"{uri}start/", "", content_type="application/json", **headers)
    assert response.status_code == 202, response.content
    assert response.json()["uuid"] == app["uuid"]
    (stopped,) = make_apps(user, 1, name="idle")
    response = api.post(f"{LIST}{stopped.uuid}/start/", "", content_type="application/json", **headers)
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Starting"
    response = api.get(uri, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    response = api.delete(uri, "", content_type="application/json", **headers)
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Terminating"


@pytest.mark.django_db
def test_browser_accept_header_still_gets_json(api):
    response = api.get(LIST, HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["objects"] == []


# ---------------------------------------------------------------- response headers


def assert_api_headers(response):
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "must-revalidate, max-age=0"
    assert [v.strip() for v in response["Vary"].split(",")] == ["Accept", "Authorization", "Cookie"]


@pytest.mark.django_db
def test_response_headers_on_every_kind_of_answer(api, other_api):
    app = create(api, name="h")
    responses = {
        "list": api.get(LIST),
        "detail": api.get(app["resource_uri"]),
        "accepted": api.post(f"{app['resource_uri']}start/", {}, format="json"),
        "bad request": api.get(f"{LIST}?limit=-1"),
        "unauthorized": APIClient().get(LIST),
        "not found": other_api.get(app["resource_uri"]),
        "unknown url": api.get("/api/v1/nothing/"),
        "method not allowed": api.put(app["resource_uri"], {}, format="json"),
        "unsupported media type": api.post(LIST, "x", content_type="text/plain"),
    }
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "list": 200,
        "detail": 200,
        "accepted": 202,
        "bad request": 400,
        "unauthorized": 401,
        "not found": 404,
        "unknown url": 404,
        "method not allowed": 405,
        "unsupported media type": 415,
    }
    for response in responses.values():
        assert_api_headers(response)


@pytest.mark.django_db
def test_throttled_answer_has_the_headers_too(api, user, settings):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 1
    client = APIClient()
    client.get(LIST, HTTP_AUTHORIZATION="ApiKey alice:wrong")
    response = client.get(LIST, HTTP_AUTHORIZATION="ApiKey alice:wrong")
    assert_error(response, 429)
    assert_api_headers(response)


# ---------------------------------------------------------------- trailing slash


@pytest.mark.django_db
def test_urls_without_trailing_slash_answer_the_same(api, user):
    app = create(api, name="slash", target_num_containers=1)
    uri = app["resource_uri"]
    (container_uri,) = app["containers"]
    for path in (LIST, uri, CONTAINERS, container_uri, f"{LIST}?name=slash"):
        with_slash = api.get(path)
        without = api.get(path.replace("/?", "?") if "?" in path else path.rstrip("/"))
        assert with_slash.status_code == 200
        assert without.status_code == 200, path
        assert without.json() == with_slash.json()


@pytest.mark.django_db
def test_writes_without_trailing_slash_keep_their_body(api):
    response = api.post(LIST.rstrip("/"), {"image": "local/busybox", "name": "noslash"}, format="json")
    assert response.status_code == 202, response.content
    uri = response.json()["resource_uri"].rstrip("/")
    response = api.patch(uri, {"autorestart": "ALWAYS"}, format="json")
    assert response.status_code == 202, response.content
    assert Service.objects.get(name="noslash").autorestart == "ALWAYS"
    assert api.post(f"{uri}/start", "", content_type="application/json").status_code == 202
    assert api.delete(uri).status_code == 202
    assert Service.objects.get(name="noslash").state == "Terminating"


# ---------------------------------------------------------------- schema


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/schema"])
def test_schema_is_public_and_lists_the_resources(path):
    response = APIClient().get(path)
    assert response.status_code == 200, response.content[:500]
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert "/api/v1/application/" in paths
    assert "/api/v1/container/" in paths
    assert "/api/v1/application/{uuid}/" in paths
    assert "/api/v1/auth/" in paths
    assert {"get", "post"} <= set(paths["/api/v1/application/"])
    # The optional trailing slash of the routes does not leak into the documented paths.
    assert all(p.endswith("/") and "?" not in p for p in paths), sorted(paths)

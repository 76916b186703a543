"""Accounts and API keys on the wire: both header forms, refusals, throttling, the /auth/ login, storage."""

import base64
import hashlib
import time

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey

pytestmark = pytest.mark.django_db

LIST = "/api/v1/application/"
AUTH = "/api/v1/auth/"


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def get(path=LIST, authorization=None, address="127.0.0.1"):
    client = APIClient()
    extra = {"REMOTE_ADDR": address}
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    return client.get(path, **extra)


def assert_json_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
def key(user):
    _, plain = ApiKey.issue(user)
    return plain


# ---------------------------------------------------------------- the two header forms


def test_apikey_header_authenticates(user, key):
    response = get(authorization=f"ApiKey alice:{key}")
    assert response.status_code == 200, response.content
    assert response.json()["meta"]["total_count"] == 0


def test_apikey_scheme_is_case_insensitive(user, key):
    assert get(authorization=f"apikey alice:{key}").status_code == 200


def test_basic_username_and_key_authenticates(user, key):
    response = get(authorization=basic("alice", key))
    assert response.status_code == 200, response.content
    assert response.json()["objects"] == []


def test_each_user_sees_only_own_objects_through_either_form(user, other_user, key, api, other_api):
    assert api.post(LIST, {"image": "local/busybox", "name": "mine"}, format="json").status_code == 202
    assert other_api.post(LIST, {"image": "local/busybox", "name": "theirs"}, format="json").status_code == 202
    for authorization in (f"ApiKey alice:{key}", basic("alice", key)):
        names = [a["name"] for a in get(authorization=authorization).json()["objects"]]
        assert names == ["mine"]


# ---------------------------------------------------------------- refusals


def test_missing_credentials_is_401_json():
    assert_json_error(get(), 401)


@pytest.mark.parametrize(
    "authorization",
    [
        "ApiKey alice:0000000000000000000000000000000000000000",
        "ApiKey alice",
        "ApiKey alice:",
        "ApiKey :somekey",
        "Basic not-base64!!",
        basic("alice", "wrong-key"),
        "Bearer something",
    ],
)
def test_wrong_or_malformed_credentials_are_401_json(user, key, authorization):
    assert_json_error(get(authorization=authorization), 401)


def test_key_of_another_user_is_refused(user, other_user, key):
    assert_json_error(get(authorization=f"ApiKey bob:{key}"), 401)
    assert_json_error(get(authorization=basic("bob", key)), 401)


def test_unknown_user_is_401(key):
    assert_json_error(get(authorization=f"ApiKey nobody:{key}"), 401)


def test_401_says_how_to_authenticate(user):
    response = get(authorization="ApiKey alice:wrong")
    assert "WWW-Authenticate" in response


def test_revoked_key_is_401_and_other_keys_keep_working(user, key):
    row, other = ApiKey.issue(user, name="second")
    assert get(authorization=f"ApiKey alice:{other}").status_code == 200
    row.revoke()
    assert_json_error(get(authorization=f"ApiKey alice:{other}"), 401)
    assert_json_error(get(authorization=basic("alice", other)), 401)
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200


def test_key_of_inactive_user_is_401(user, key):
    user.is_active = False
    user.save()
    assert_json_error(get(authorization=f"ApiKey alice:{key}"), 401)


def test_password_is_not_an_api_key(user):
    assert_json_error(get(authorization="ApiKey alice:secret-password"), 401)
    assert_json_error(get(authorization=basic("alice", "secret-password")), 401)


# ---------------------------------------------------------------- throttling


@pytest.fixture
def strict(settings):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 3
    settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS = 60
    return settings


def test_repeated_failures_from_one_address_are_throttled(strict, user, key):
    for attempt in range(3):
        # A different username each time: only the address is common.
        assert_json_error(get(authorization=f"ApiKey user{attempt}:wrong", address="10.0.0.1"), 401)
    throttled = get(authorization=f"ApiKey alice:{key}", address="10.0.0.1")
    assert_json_error(throttled, 429)
    assert int(throttled["Retry-After"]) > 0
    # Another address, with right credentials, is not affected.
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.0.2").status_code == 200


def test_repeated_failures_for_one_username_are_throttled(strict, user, other_user, key):
    for attempt in range(3):
        # A different address each time: only the username is common.
        assert_json_error(get(authorization="ApiKey alice:wrong", address=f"10.0.1.{attempt}"), 401)
    assert_json_error(get(authorization=f"ApiKey alice:{key}", address="10.0.1.99"), 429)
    assert_json_error(get(authorization=basic("alice", key), address="10.0.1.98"), 429)
    # Another username from a fresh address is not affected.
    _, bob_key = ApiKey.issue(other_user)
    assert get(authorization=f"ApiKey bob:{bob_key}", address="10.0.1.99").status_code == 200


def test_username_throttling_ignores_case(strict, user, key):
    for attempt in range(3):
        get(authorization="ApiKey ALICE:wrong", address=f"10.0.2.{attempt}")
    assert_json_error(get(authorization=f"ApiKey alice:{key}", address="10.0.2.99"), 429)


def test_failures_below_the_limit_are_not_throttled(strict, user, key):
    for _ in range(2):
        assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.3.1"), 401)
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.3.1").status_code == 200


def test_successes_do_not_count_as_failures(strict, user, key):
    for _ in range(10):
        assert get(authorization=f"ApiKey alice:{key}", address="10.0.4.1").status_code == 200


def test_throttling_ends_after_the_window(settings, user, key):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 2
    settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS = 1
    for _ in range(2):
        get(authorization="ApiKey alice:wrong", address="10.0.5.1")
    assert_json_error(get(authorization=f"ApiKey alice:{key}", address="10.0.5.1"), 429)
    time.sleep(1.5)
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.5.1").status_code == 200


def test_failed_password_logins_are_throttled_too(strict, user):
    for _ in range(3):
        assert_json_error(get(AUTH, authorization=basic("alice", "wrong"), address="10.0.6.1"), 401)
    assert_json_error(get(AUTH, authorization=basic("alice", "secret-password"), address="10.0.6.1"), 429)
    assert ApiKey.objects.filter(user=user).count() == 0


# ---------------------------------------------------------------- GET /api/v1/auth/


def test_auth_with_password_issues_a_working_key(user):
    response = get(AUTH, authorization=basic("alice", "secret-password"))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"objects"}
    (entry,) = body["objects"]
    assert set(entry) == {"key"}
    key = entry["key"]
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200
    assert get(authorization=basic("alice", key)).status_code == 200


def test_each_login_issues_a_new_key_and_keeps_the_old(user):
    first = get(AUTH, authorization=basic("alice", "secret-password")).json()["objects"][0]["key"]
    second = get(AUTH, authorization=basic("alice", "secret-password")).json()["objects"][0]["key"]
    assert first != second
    assert ApiKey.objects.filter(user=user).active().count() == 2
    assert get(authorization=f"ApiKey alice:{first}").status_code == 200
    assert get(authorization=f"ApiKey alice:{second}").status_code == 200


def test_auth_with_wrong_password_is_401(user):
    assert_json_error(get(AUTH, authorization=basic("alice", "wrong-password")), 401)
    assert_json_error(get(AUTH, authorization=basic("nobody", "secret-password")), 401)
    assert ApiKey.objects.count() == 0


def test_auth_does_not_accept_a_key_as_password(user, key):
    assert_json_error(get(AUTH, authorization=basic("alice", key)), 401)
    assert_json_error(get(AUTH, authorization=f"ApiKey alice:{key}"), 401)
    assert ApiKey.objects.filter(user=user).count() == 1


def test_auth_without_credentials_is_401(user):
    assert_json_error(get(AUTH), 401)


def test_auth_refuses_inactive_user(user):
    user.is_active = False
    user.save()
    assert_json_error(get(AUTH, authorization=basic("alice", "secret-password")), 401)


def test_auth_without_trailing_slash(user):
    response = get("/api/v1/auth", authorization=basic("alice", "secret-password"))
    assert response.status_code == 200, response.content
    assert response.json()["objects"][0]["key"]


# ---------------------------------------------------------------- last_used and storage


def test_last_used_is_recorded(user):
    row, key = ApiKey.issue(user)
    assert row.last_used is None
    before = row.created
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200
    row.refresh_from_db()
    assert row.last_used is not None
    assert row.last_used >= before


def test_last_used_is_recorded_for_basic_form(user):
    row, key = ApiKey.issue(user)
    assert get(authorization=basic("alice", key)).status_code == 200
    row.refresh_from_db()
    assert row.last_used is not None


def test_last_used_is_written_once_a_minute_not_on_every_request(user):
    row, key = ApiKey.issue(user)
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200
    row.refresh_from_db()
    first = row.last_used
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200
    row.refresh_from_db()
    assert row.last_used == first
    ApiKey.objects.filter(pk=row.pk).update(last_used=first - timezone.timedelta(seconds=61))
    assert get(authorization=f"ApiKey alice:{key}").status_code == 200
    row.refresh_from_db()
    assert row.last_used > first


def test_key_lookup_gives_the_user_and_nothing_for_a_wrong_username(user):
    row, key = ApiKey.issue(user)
    found = ApiKey.find_active("alice", key)
    assert (found.pk, found.user.pk, found.user.username) == (row.pk, user.pk, "alice")
    assert found.user.email == user.email  # fields not selected load on access
    assert ApiKey.find_active("Alice", key) is None
    assert ApiKey.find_active("alice", key + "0") is None


def test_failed_attempt_does_not_touch_last_used(user):
    row, key = ApiKey.issue(user)
    get(authorization="ApiKey alice:" + key[:-1] + ("0" if key[-1] != "0" else "1"))
    row.refresh_from_db()
    assert row.last_used is None


def _all_values_of(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}"')
        return [str(value) for row in cursor.fetchall() for value in row]


def test_keys_are_stored_hashed(user):
    issued = [ApiKey.issue(user)[1]]
    issued.append(get(AUTH, authorization=basic("alice", "secret-password")).json()["objects"][0]["key"])
    values = _all_values_of(ApiKey._meta.db_table)
    for key in issued:
        assert len(key) >= 32
        assert not any(key in value for value in values)
        row = ApiKey.objects.get(key_hash=hashlib.sha256(key.encode()).hexdigest())
        assert row.user == user
        assert key.startswith(row.prefix) and len(row.prefix) < len(key)
    # Nor anywhere else: no table of the database holds a plain key.
    for table in connection.introspection.table_names():
        values = _all_values_of(table)
        assert not any(key in value for key in issued for value in values), table

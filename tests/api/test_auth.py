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
        "ApiKey al\x00ice:somekey",
        basic("al\x00ice", "secret-password"),
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


# ---------------------------------------------------------------- throttling
# A valid key is always served; wrong keys count against the client address, wrong passwords against the
# (address, username) pair and the address. Usernames are public: failures must not lock out the user elsewhere.

PASSWORD = "secret-password"
WRONG_KEY_FORMS = {
    "apikey": lambda username, secret: f"ApiKey {username}:{secret}",
    "basic": basic,
}


@pytest.fixture
def strict(settings):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 3
    settings.TUTUM_AUTH_ADDRESS_FAILURES_ALLOWED = 5
    settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS = 60
    return settings


def assert_throttled(response):
    assert_json_error(response, 429)
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("form", WRONG_KEY_FORMS)
def test_wrong_keys_never_lock_out_the_valid_key(user, key, form):
    wrong = WRONG_KEY_FORMS[form]
    for _ in range(50):
        assert get(authorization=wrong("alice", "wrong-key"), address="10.0.0.1").status_code in (401, 429)
    # The valid key, in either form, from the very address that sent the 50 wrong ones.
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.0.1").status_code == 200
    assert get(authorization=basic("alice", key), address="10.0.0.1").status_code == 200
    assert_throttled(get(authorization=wrong("alice", "wrong-key"), address="10.0.0.1"))
    assert_json_error(get(authorization=wrong("alice", "wrong-key"), address="10.0.0.2"), 401)


def test_wrong_keys_from_one_address_are_throttled_there(strict, user, key):
    for attempt in range(3):
        # A different username each time: only the address is common.
        assert_json_error(get(authorization=f"ApiKey user{attempt}:wrong", address="10.0.0.1"), 401)
    assert_throttled(get(authorization="ApiKey alice:wrong", address="10.0.0.1"))
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.0.1").status_code == 200
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.0.2"), 401)


def test_wrong_keys_for_one_username_from_many_addresses_throttle_nobody(strict, user, key):
    for attempt in range(6):
        assert_json_error(get(authorization="ApiKey alice:wrong", address=f"10.0.1.{attempt}"), 401)
        assert_json_error(get(authorization=basic("alice", "wrong"), address=f"10.0.1.{attempt + 100}"), 401)
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.1.99"), 401)
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.1.99").status_code == 200
    assert get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.1.99").status_code == 200


def test_wrong_passwords_throttle_that_address_not_the_password_from_another(user):
    for _ in range(20):
        assert get(AUTH, authorization=basic("alice", "wrong"), address="10.0.2.1").status_code in (401, 429)
    assert_throttled(get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.2.1"))
    response = get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.2.2")
    assert response.status_code == 200, response.content
    assert response.json()["objects"][0]["key"]


def test_wrong_passwords_throttle_the_pair_of_address_and_username(strict, user, other_user):
    for _ in range(3):
        assert_json_error(get(AUTH, authorization=basic("alice", "wrong"), address="10.0.3.1"), 401)
    assert_throttled(get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.3.1"))
    assert ApiKey.objects.filter(user=user).count() == 0
    # Another username from that address, below the address's own limit, and alice from elsewhere still work.
    assert get(AUTH, authorization=basic("bob", PASSWORD), address="10.0.3.1").status_code == 200
    assert get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.3.2").status_code == 200


def test_wrong_passwords_for_many_usernames_throttle_the_address(strict, user, other_user, key):
    for attempt in range(5):
        assert_json_error(get(AUTH, authorization=basic(f"user{attempt}", "wrong"), address="10.0.4.1"), 401)
    assert_throttled(get(AUTH, authorization=basic("bob", PASSWORD), address="10.0.4.1"))
    assert get(AUTH, authorization=basic("bob", PASSWORD), address="10.0.4.2").status_code == 200
    assert get(authorization=f"ApiKey alice:{key}", address="10.0.4.1").status_code == 200


def test_password_throttling_ignores_the_case_of_the_username(strict, user):
    for _ in range(3):
        get(AUTH, authorization=basic("ALICE", "wrong"), address="10.0.5.1")
    assert_throttled(get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.5.1"))


def test_failures_below_the_limit_are_not_throttled(strict, user, key):
    for _ in range(2):
        assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.6.1"), 401)
        assert_json_error(get(AUTH, authorization=basic("alice", "wrong"), address="10.0.6.1"), 401)
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.6.1"), 401)
    assert get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.6.1").status_code == 200


def test_successes_do_not_count_as_failures(strict, user, key):
    for _ in range(10):
        assert get(authorization=f"ApiKey alice:{key}", address="10.0.7.1").status_code == 200
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.7.1"), 401)


def test_throttling_ends_after_the_window(settings, user, key):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 2
    settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS = 2  # a password check takes ~0.3 s: room for two and the 429
    for _ in range(2):
        get(authorization="ApiKey alice:wrong", address="10.0.8.1")
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.8.1"), 429)
    for _ in range(2):
        get(AUTH, authorization=basic("alice", "wrong"), address="10.0.8.1")
    assert_json_error(get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.8.1"), 429)
    time.sleep(2.5)
    assert_json_error(get(authorization="ApiKey alice:wrong", address="10.0.8.1"), 401)
    assert get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.8.1").status_code == 200


def test_password_login_function_for_other_faces_is_throttled_the_same_way(strict, user, rf):
    """`authenticate_password` is what a web login calls: the same counters as HTTP Basic."""
    from apps.accounts.passwords import authenticate_password
    from apps.accounts.throttling import LoginThrottled

    request = rf.post("/login/", REMOTE_ADDR="10.0.9.1")
    assert authenticate_password(request, "alice", PASSWORD) == user
    for _ in range(3):
        assert authenticate_password(request, "alice", "wrong") is None
    with pytest.raises(LoginThrottled) as throttled:
        authenticate_password(request, "alice", PASSWORD)
    assert throttled.value.wait > 0
    assert_throttled(get(AUTH, authorization=basic("alice", PASSWORD), address="10.0.9.1"))
    assert authenticate_password(rf.post("/login/", REMOTE_ADDR="10.0.9.2"), "alice", PASSWORD) == user


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

"""Authentication as the final 2015 clients do it (Tutum's API documentation of December 2015 and the clients'
code): Basic user:apikey, Basic user:password on every request (`tutum login` stores it), `ApiKey user:key`
and the TUTUM_AUTH of a role `global` container; `GET /api/v1/auth/` (the CLI's check before every command)
answers 2xx to each. A verified password is
remembered for a short time, so the CLI does not pay a PBKDF2 check on every request."""

from unittest import mock

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.cache import cache

from apps.accounts.models import ApiKey
from apps.nodes.models import Node
from orchestrator.converge import build_spec
from tests.api.app_support import app_uri, make_application
from tests.api.test_auth import AUTH, LIST, PASSWORD, assert_json_error, basic, get

pytestmark = pytest.mark.django_db

FORMS = {
    "basic user:apikey": lambda key: basic("alice", key),
    "basic user:password": lambda key: basic("alice", PASSWORD),
    "apikey user:key": lambda key: f"ApiKey alice:{key}",
}


@pytest.fixture
def key(user):
    return ApiKey.issue(user)[1]


@pytest.fixture
def hasher_calls(user):
    """Counts the password hasher's verifications (the ~0.3 s PBKDF2 work)."""
    hasher_class = type(identify_hasher(user.password))
    with mock.patch.object(hasher_class, "verify", autospec=True, side_effect=hasher_class.verify) as verify:
        yield verify


# ---------------------------------------------------------------- every form, everywhere


@pytest.mark.parametrize("form", FORMS)
def test_every_client_form_authenticates_a_normal_endpoint(user, key, form):
    response = get(LIST, authorization=FORMS[form](key))
    assert response.status_code == 200, response.content
    assert response.json()["objects"] == []


@pytest.mark.parametrize("form", ["basic user:apikey", "apikey user:key"])
def test_the_auth_check_with_a_key_answers_that_key_and_mints_none(user, key, form):
    response = get(AUTH, authorization=FORMS[form](key))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"objects": [{"key": key}]}
    assert ApiKey.objects.filter(user=user).count() == 1


def test_the_auth_check_with_a_password_mints_a_key_the_2014_sdk_reads(user, key):
    response = get(AUTH, authorization=basic("alice", PASSWORD))
    assert response.status_code == 200, response.content
    (entry,) = response.json()["objects"]
    assert entry["key"] != key
    assert get(LIST, authorization=f"ApiKey alice:{entry['key']}").status_code == 200
    assert ApiKey.objects.filter(user=user).count() == 2


def test_the_tutum_auth_a_global_container_receives_authenticates(user):
    application = make_application(user, "globalrole", roles=["global"])
    node = Node.objects.create(name="node-1", docker_host="tcp://127.0.0.1:1")
    spec, recorded = build_spec(application.containers.get(), node)
    tutum_auth = spec.env["TUTUM_AUTH"]
    assert "TUTUM_AUTH" not in recorded
    keys = ApiKey.objects.filter(user=user).count()

    assert get(LIST, authorization=tutum_auth).json()["objects"][0]["name"] == "globalrole"
    response = get(app_uri(application), authorization=tutum_auth)
    assert response.status_code == 200, response.content
    assert response.json()["uuid"] == str(application.uuid)
    response = get(AUTH, authorization=tutum_auth)
    assert response.status_code == 200, response.content
    assert tutum_auth.endswith(":" + response.json()["objects"][0]["key"])
    assert ApiKey.objects.filter(user=user).count() == keys


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("path", [LIST, AUTH])
def test_a_wrong_password_is_401(user, path):
    assert_json_error(get(path, authorization=basic("alice", "wrong-password")), 401)
    assert_json_error(get(path, authorization=basic("nobody", PASSWORD)), 401)
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("path", [LIST, AUTH])
def test_the_password_of_an_inactive_user_is_401(user, path):
    assert get(path, authorization=basic("alice", PASSWORD)).status_code == 200  # remembered as verified
    user.is_active = False
    user.save()
    assert_json_error(get(path, authorization=basic("alice", PASSWORD)), 401)


def test_the_apikey_scheme_carries_keys_not_passwords(user):
    assert_json_error(get(LIST, authorization=f"ApiKey alice:{PASSWORD}"), 401)
    assert_json_error(get(AUTH, authorization=f"ApiKey alice:{PASSWORD}"), 401)


# ---------------------------------------------------------------- the remembered password check


def test_a_verified_password_is_not_hashed_again(user, hasher_calls):
    assert get(LIST, authorization=basic("alice", PASSWORD)).status_code == 200
    assert hasher_calls.call_count == 1
    for path in (LIST, AUTH, LIST):
        assert get(path, authorization=basic("alice", PASSWORD)).status_code == 200
    assert hasher_calls.call_count == 1


def test_a_wrong_password_is_hashed_every_time(user, hasher_calls):
    for _ in range(2):
        assert_json_error(get(LIST, authorization=basic("alice", "wrong-password")), 401)
    assert hasher_calls.call_count == 2


def test_the_check_is_not_remembered_when_the_setting_is_zero(settings, user, hasher_calls):
    settings.TUTUM_PASSWORD_CHECK_CACHE_SECONDS = 0
    for _ in range(2):
        assert get(LIST, authorization=basic("alice", PASSWORD)).status_code == 200
    assert hasher_calls.call_count == 2


def test_a_password_change_ends_the_remembered_check(user):
    assert get(LIST, authorization=basic("alice", PASSWORD)).status_code == 200
    user.set_password("new-password")
    user.save()
    assert_json_error(get(LIST, authorization=basic("alice", PASSWORD)), 401)
    assert_json_error(get(AUTH, authorization=basic("alice", PASSWORD)), 401)
    assert get(LIST, authorization=basic("alice", "new-password")).status_code == 200


def _cache_contents() -> list[bytes]:
    backend = cache._cache
    if isinstance(backend, dict):  # LocMemCache
        return [key.encode() for key in backend] + list(backend.values())
    client = backend.get_client()
    keys = client.keys("*")
    return keys + [client.get(key) or b"" for key in keys]


def test_the_password_is_neither_cached_nor_logged(user, caplog):
    caplog.set_level("DEBUG")
    assert get(LIST, authorization=basic("alice", PASSWORD)).status_code == 200
    assert_json_error(get(LIST, authorization=basic("alice", "wrong-password")), 401)
    contents = _cache_contents()
    assert contents  # the check and the failure counters are there
    for secret in (PASSWORD, "wrong-password"):
        assert not any(secret.encode() in item for item in contents)
        assert secret not in caplog.text

"""The management commands an administrator uses to hand out access: createuser, issuekey, revokekey."""

import base64
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey

pytestmark = pytest.mark.django_db

LIST = "/api/v1/application/"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def status_with_key(username: str, key: str) -> int:
    return APIClient().get(LIST, HTTP_AUTHORIZATION=f"ApiKey {username}:{key}").status_code


def login(username: str, password: str):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return APIClient().get("/api/v1/auth/", HTTP_AUTHORIZATION=f"Basic {token}")


# ---------------------------------------------------------------- createuser


def test_createuser_with_password_can_log_in():
    output = run("createuser", "carol", "--password", "carol-password", "--email", "carol@example.com")
    assert "created user carol" in output
    user = get_user_model().objects.get(username="carol")
    assert user.email == "carol@example.com"
    assert user.is_active and not user.is_superuser
    assert user.check_password("carol-password")
    response = login("carol", "carol-password")
    assert response.status_code == 200, response.content
    assert status_with_key("carol", response.json()["objects"][0]["key"]) == 200


def test_createuser_generate_prints_a_working_password():
    output = run("createuser", "dave", "--generate")
    (line,) = [line for line in output.splitlines() if line.startswith("password for dave: ")]
    password = line.removeprefix("password for dave: ")
    assert len(password) >= 12
    assert login("dave", password).status_code == 200
    assert login("dave", password + "x").status_code == 401


def test_createuser_superuser():
    run("createuser", "root", "--password", "pw-root-1234", "--superuser")
    user = get_user_model().objects.get(username="root")
    assert user.is_superuser and user.is_staff


def test_createuser_refuses_an_existing_user(user):
    with pytest.raises(CommandError, match="already exists"):
        run("createuser", "alice", "--password", "other")
    user.refresh_from_db()
    assert user.check_password("secret-password")


def test_createuser_if_missing_leaves_an_existing_user_alone(user):
    assert run("createuser", "alice", "--password", "other", "--if-missing") == ""
    user.refresh_from_db()
    assert user.check_password("secret-password")
    assert get_user_model().objects.filter(username="alice").count() == 1


# ---------------------------------------------------------------- issuekey


def test_issuekey_prints_a_key_that_works(user):
    key = run("issuekey", "alice").strip()
    assert len(key) == 40
    assert status_with_key("alice", key) == 200
    assert status_with_key("bob", key) == 401
    assert ApiKey.objects.filter(user=user).active().count() == 1


def test_issuekey_names_the_key_and_keeps_other_keys(user):
    _, first = ApiKey.issue(user)
    key = run("issuekey", "alice", "--name", "laptop").strip()
    assert ApiKey.objects.get(user=user, name="laptop").prefix == key[:8]
    assert status_with_key("alice", first) == 200
    assert status_with_key("alice", key) == 200


def test_issuekey_replace_revokes_keys_of_the_same_name(user):
    old = run("issuekey", "alice", "--name", "ci").strip()
    _, other = ApiKey.issue(user, name="laptop")
    new = run("issuekey", "alice", "--name", "ci", "--replace").strip()
    assert status_with_key("alice", old) == 401
    assert status_with_key("alice", new) == 200
    assert status_with_key("alice", other) == 200


def test_issuekey_unknown_user():
    with pytest.raises(CommandError, match="no user"):
        run("issuekey", "nobody")
    assert ApiKey.objects.count() == 0


# ---------------------------------------------------------------- revokekey


def test_revokekey_with_the_whole_key(user):
    key = run("issuekey", "alice").strip()
    _, other = ApiKey.issue(user)
    assert status_with_key("alice", key) == 200
    assert "revoked 1 key(s)" in run("revokekey", "alice", key)
    assert status_with_key("alice", key) == 401
    assert status_with_key("alice", other) == 200
    assert ApiKey.objects.get(prefix=key[:8]).revoked_at is not None


def test_revokekey_with_the_first_characters(user):
    key = run("issuekey", "alice").strip()
    assert "revoked 1 key(s)" in run("revokekey", "alice", key[:8])
    assert status_with_key("alice", key) == 401


def test_revokekey_all(user, other_user):
    keys = [run("issuekey", "alice").strip() for _ in range(3)]
    bob_key = run("issuekey", "bob").strip()
    assert "revoked 3 key(s)" in run("revokekey", "alice", "--all")
    assert [status_with_key("alice", k) for k in keys] == [401, 401, 401]
    assert status_with_key("bob", bob_key) == 200


def test_revokekey_only_touches_the_named_users_keys(user, other_user):
    bob_key = run("issuekey", "bob").strip()
    with pytest.raises(CommandError, match="no matching active key"):
        run("revokekey", "alice", bob_key)
    assert status_with_key("bob", bob_key) == 200


def test_revokekey_refuses_unknown_short_and_already_revoked_keys(user):
    key = run("issuekey", "alice").strip()
    with pytest.raises(CommandError, match="no matching active key"):
        run("revokekey", "alice", "f" * 40)
    with pytest.raises(CommandError, match="give a key"):
        run("revokekey", "alice", key[:4])
    with pytest.raises(CommandError, match="give a key"):
        run("revokekey", "alice")
    assert status_with_key("alice", key) == 200
    run("revokekey", "alice", key)
    with pytest.raises(CommandError, match="no matching active key"):
        run("revokekey", "alice", key)

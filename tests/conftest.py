"""Shared fixtures: users with keys, authenticated clients, factories. The e2e fixtures are in tests/e2e."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey


@pytest.fixture(autouse=True)
def _clear_throttle_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(django_user_model):
    def make(username="alice", password="secret-password"):
        return django_user_model.objects.create_user(username=username, password=password)

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


@pytest.fixture
def make_client():
    def make(user=None, key=None, scheme="ApiKey"):
        client = APIClient()
        if user is not None:
            if key is None:
                _, key = ApiKey.issue(user)
            client.credentials(HTTP_AUTHORIZATION=f"{scheme} {user.username}:{key}")
        return client

    return make


@pytest.fixture
def api(make_client, user):
    """An APIClient authenticated as `user` with `Authorization: ApiKey alice:<key>`."""
    return make_client(user)


@pytest.fixture
def other_api(make_client, other_user):
    return make_client(other_user)

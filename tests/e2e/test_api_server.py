"""The API under gunicorn, as in production: database connections are kept between requests (CONN_MAX_AGE),
and a kept connection that the database dropped (a Postgres restart, an idle timeout) costs no request."""

import pytest
import requests
from django.db import connection

from apps.accounts.models import ApiKey

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gunicorn(api_server):
    return api_server({"DATABASE_CONN_MAX_AGE": "60"})


def _other_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def test_a_dropped_database_connection_costs_no_request(gunicorn, user):
    _, key = ApiKey.issue(user)
    headers = {"Authorization": f"ApiKey alice:{key}"}
    assert requests.get(f"{gunicorn}/api/v1/application/", headers=headers, timeout=10).status_code == 200
    kept = _other_backends()
    assert kept, "the server keeps its database connection between requests"

    with connection.cursor() as cursor:
        for pid in kept:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    statuses = [requests.get(f"{gunicorn}/api/v1/application/", headers=headers, timeout=10).status_code]
    statuses += [requests.get(f"{gunicorn}/api/v1/application/", headers=headers, timeout=10).status_code]
    assert statuses == [200, 200]

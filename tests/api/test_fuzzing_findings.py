"""Server bugs the schema conformance run (tests/e2e/test_schema_conformance.py) found, each pinned here by a
plain API test so that it stays fixed whatever the fuzzer happens to generate."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/application/", "/api/v1/container/", "/api/v1/node/", "/api/v1/image/"])
def test_an_offset_beyond_any_database_integer_is_a_400_naming_it(api, user, path):
    response = api.get(f"{path}?offset=5254082496104687992832")

    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["fields"]) == ["offset"], body


def test_the_largest_offset_allowed_is_an_empty_page(api, user):
    response = api.get(f"/api/v1/node/?offset={2**62}")

    assert response.status_code == 200, response.content
    assert response.json()["objects"] == []


@pytest.mark.parametrize("flag", ["starred", "base_image", "is_private_image"])
def test_a_boolean_filter_holding_a_percent_sign_is_a_400_naming_it(api, user, flag):
    response = api.get(f"/api/v1/image/?{flag}=100%25")

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {flag: ["'100%' is not a boolean; use true or false."]}


def test_an_action_date_filter_with_an_offset_postgres_refuses_is_read_in_utc(api, user):
    # Python takes offsets up to 24 hours, Postgres up to 15:59.
    response = api.get("/api/v1/action/", {"start_date__lte": "6075-11-14T10:09:14.5+21:15"})

    assert response.status_code == 200, response.content


def test_an_action_date_filter_beyond_the_year_9999_in_utc_is_a_400_naming_it(api, user):
    response = api.get("/api/v1/action/", {"end_date__gte": "9999-12-31T23:00:00-21:00"})

    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["end_date__gte"]

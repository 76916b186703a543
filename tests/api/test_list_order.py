"""Application list pages are ordered (by id) even though each row carries container counts, so paging
neither repeats nor skips an application; the counts stay right and cost no query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db


def test_pages_follow_creation_order_without_repeats(api, user):
    # Updated rows move on disk in Postgres; an unordered page would follow the physical order.
    apps = [make_application(user, f"web{i}", containers=i % 3) for i in range(30)]
    for service in apps[::2]:
        service.save()

    seen = []
    for offset in range(0, 30, 7):
        with CaptureQueriesContext(connection) as queries:
            body = api.get(f"/api/v1/application/?limit=7&offset={offset}").json()
        seen += [o["name"] for o in body["objects"]]
        page_sql = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"] and "current_num" in q["sql"]]
        assert page_sql and "ORDER BY" in page_sql[0]

    assert seen == [a.name for a in apps]


def test_counts_per_row_from_the_containers(api, user):
    make_application(user, "two", containers=2)
    make_application(user, "none", containers=0)
    objects = {o["name"]: o for o in api.get("/api/v1/application/").json()["objects"]}
    assert objects["two"]["current_num_containers"] == objects["two"]["running_num_containers"] == 2
    assert objects["none"]["current_num_containers"] == objects["none"]["stopped_num_containers"] == 0

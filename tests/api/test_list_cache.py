"""Cached list pages (apps/core/listcache.py) and the triggers that retire them (apps/core/listversions.py).

These tests commit (transactional_db): the triggers are deferred to the commit, and nothing is cached from
inside a transaction, so in the other API tests (one transaction each) every list is built afresh.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.containers.models import Container, ContainerPort
from apps.core.models import ListVersion
from apps.nodes.models import Node, NodeState
from apps.services.models import Service, ServicePort

from .app_support import make_application, set_state

pytestmark = pytest.mark.django_db(transaction=True)


def tokens() -> dict[int, str]:
    return dict(ListVersion.objects.values_list("owner_id", "token"))


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["objects"]]


@pytest.fixture
def node():
    return Node.objects.create(name="node-1", docker_host="tcp://127.0.0.1:1")


def _rename_application(app):
    Service.objects.filter(pk=app.pk).update(name="renamed")


def _add_application_port(app):
    ServicePort.objects.create(service=app, inner_port=8080)


def _stop_container(app):
    Container.objects.filter(service=app).update(state="Stopped")


def _delete_container_ports(app):
    ContainerPort.objects.filter(container__service=app).delete()


def _delete_application(app):
    app.delete()


def _rename_owner(app):
    type(app.owner).objects.filter(pk=app.owner_id).update(username="alice2")


WRITES = [
    _rename_application,
    _add_application_port,
    _stop_container,
    _delete_container_ports,
    _delete_application,
    _rename_owner,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda f: f.__name__.lstrip("_"))
def test_every_write_to_a_listed_row_renews_its_owners_token_only(write, user, other_user):
    app = make_application(user, "web", containers=2)
    make_application(other_user, "other")
    before = tokens()

    write(app)

    after = tokens()
    assert after[user.pk] != before[user.pk]
    assert after[other_user.pk] == before[other_user.pk]
    assert after[ListVersion.GLOBAL_OWNER] == before[ListVersion.GLOBAL_OWNER]


def test_a_node_renews_every_owners_lists_when_its_state_changes_not_when_it_is_seen(node):
    before = tokens()[ListVersion.GLOBAL_OWNER]
    Node.objects.filter(pk=node.pk).update(last_seen=timezone.now(), last_error="")
    assert tokens()[ListVersion.GLOBAL_OWNER] == before

    Node.objects.filter(pk=node.pk).update(state=NodeState.UNREACHABLE)
    assert tokens()[ListVersion.GLOBAL_OWNER] != before


def test_a_repeated_list_is_served_without_building_the_page(api, user):
    make_application(user, "web", containers=2)
    first = api.get("/api/v1/application/?limit=25")

    with CaptureQueriesContext(connection) as queries:
        second = api.get("/api/v1/application/?limit=25")

    assert second.status_code == 200
    assert second["Content-Type"] == first["Content-Type"]
    assert second.content == first.content
    # The key check and the list versions; no page, count or ports query.
    statements = [q["sql"] for q in queries]
    assert len(statements) == 2, statements
    assert not [sql for sql in statements if "services_service" in sql], statements


@pytest.mark.parametrize(
    "write",
    [_rename_application, _add_application_port, _stop_container, _delete_application, _rename_owner],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_a_write_shows_in_the_next_application_list(write, api, user):
    app = make_application(user, "web", containers=2)
    before = api.get("/api/v1/application/").content

    write(app)

    assert api.get("/api/v1/application/").content != before


@pytest.mark.parametrize(
    "write", [_stop_container, _delete_container_ports, _rename_owner], ids=lambda f: f.__name__.lstrip("_")
)
def test_a_write_shows_in_the_next_container_list(write, api, user):
    app = make_application(user, "web", containers=2)
    before = api.get("/api/v1/container/").content

    write(app)

    assert api.get("/api/v1/container/").content != before


def test_a_node_going_unreachable_shows_in_every_owners_container_list(api, user, node):
    app = make_application(user, "web", containers=1)
    Container.objects.filter(service=app).update(node=node)
    assert api.get("/api/v1/container/").json()["objects"][0]["exit_code_msg"] is None

    Node.objects.filter(pk=node.pk).update(state=NodeState.UNREACHABLE)

    message = api.get("/api/v1/container/").json()["objects"][0]["exit_code_msg"]
    assert message.startswith("Node node-1 is unreachable")


def test_pages_differ_by_query_and_by_owner(api, other_api, user, other_user):
    make_application(user, "web")
    make_application(user, "db", state="Stopped")
    make_application(other_user, "theirs")

    assert names(api.get("/api/v1/application/")) == ["web", "db"]
    assert names(api.get("/api/v1/application/?state=Stopped")) == ["db"]
    assert names(api.get("/api/v1/application/?limit=1&offset=1")) == ["db"]
    assert names(other_api.get("/api/v1/application/")) == ["theirs"]
    assert names(api.get("/api/v1/application/")) == ["web", "db"]


def test_a_terminated_application_leaves_the_cached_list_when_its_retention_ends(api, user, settings):
    settings.TUTUM_TERMINATED_RETENTION_SECONDS = 2
    make_application(user, "web")
    gone = make_application(user, "gone")
    set_state(gone, "Terminated", destroyed_datetime=timezone.now() - timezone.timedelta(seconds=1))
    assert names(api.get("/api/v1/application/")) == ["web", "gone"]
    assert names(api.get("/api/v1/application/")) == ["web", "gone"]  # from the cache

    time.sleep(1.2)

    assert names(api.get("/api/v1/application/")) == ["web"]


def test_nothing_read_inside_a_transaction_is_cached(api, user):
    app = make_application(user, "web")
    with transaction.atomic():
        Service.objects.filter(pk=app.pk).update(name="uncommitted")
        assert names(api.get("/api/v1/application/")) == ["uncommitted"]
        transaction.set_rollback(True)

    assert names(api.get("/api/v1/application/")) == ["web"]


def test_without_the_database_token_nothing_is_cached(api, user):
    app = make_application(user, "web")
    ListVersion.objects.filter(owner_id=ListVersion.GLOBAL_OWNER).delete()
    assert names(api.get("/api/v1/application/")) == ["web"]

    # A change the triggers could not announce to the database's token is still seen.
    Service.objects.filter(pk=app.pk).update(name="web2")
    assert names(api.get("/api/v1/application/")) == ["web2"]


def test_two_transactions_of_one_owner_locking_rows_in_opposite_orders_both_commit(user):
    """Renewing the token at each write would lock the owner's token row at the first write of a
    transaction and hold it to the commit: here A (container, then application) and B (application, then
    container) would deadlock on it. Deferred to the commit, the token row is the last lock each takes."""
    app = make_application(user, "web", containers=2)
    first, second = Container.objects.filter(service=app).order_by("number")
    b_holds_application, a_wrote_container = threading.Event(), threading.Event()
    errors = []

    def transaction_a():
        try:
            with transaction.atomic():
                Container.objects.filter(pk=first.pk).update(state="Stopped")
                a_wrote_container.set()
                b_holds_application.wait(5)
                Service.objects.select_for_update().get(pk=app.pk)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def transaction_b():
        try:
            with transaction.atomic():
                Service.objects.select_for_update().get(pk=app.pk)
                b_holds_application.set()
                a_wrote_container.wait(5)
                time.sleep(0.2)  # A is now waiting for the application row
                Container.objects.filter(pk=second.pk).update(state="Stopped")
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=transaction_a), threading.Thread(target=transaction_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert set(Container.objects.filter(service=app).values_list("state", flat=True)) == {"Stopped"}


def test_lists_of_rows_without_triggers_are_not_cached(api, node):
    assert api.get("/api/v1/node/").json()["objects"][0]["last_error"] == ""

    Node.objects.filter(pk=node.pk).update(last_error="connection refused", schedulable=False)

    listed = api.get("/api/v1/node/").json()["objects"][0]
    assert (listed["last_error"], listed["schedulable"]) == ("connection refused", False)

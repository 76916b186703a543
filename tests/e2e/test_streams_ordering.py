"""Ordering and completeness of the event stream under concurrent writers: API requests to the server (PATCH
and scale), threads calling the use cases, and threads changing containers as the worker does (its
compare-and-set of a container's state, then its settle step) make 500 and more changes at once; a subscriber
receives each exactly once, in commit order, and another user's subscriber none of them.

Commit order is checked against what the writers saw: each transaction is known by its id (the `xmin` of the
event rows it wrote) and a span of time that holds its commit (from just before the commit to just after it;
for a request, from sending it to its answer). A transaction whose span ended before another's began committed
first, so all its events must come before the other's; and one owner's transactions do not interleave, so each
transaction's events come one after the other."""

import itertools
import json
import random
import threading
import time

import pytest
import requests
from django.db import connection, transaction
from websockets.exceptions import ConnectionClosed

from apps.accounts.models import ApiKey
from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.core.exceptions import UnsuitableState
from apps.core.transitions import compare_and_set
from apps.services import services as use_cases
from apps.services.models import Service
from apps.streams.events import latest_id
from tests.api.app_support import make_application
from tests.streams import support
from tests.streams.support import open_stream, read_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server

CHANGES = 500
C = ContainerState


class Spans:
    """The transactions the writers made: (xid or action uuid, start, end)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_xid: dict[str, tuple[float, float]] = {}
        self.by_action: dict[str, tuple[float, float]] = {}

    def run(self, change) -> None:
        """`change()` in a transaction of its own, its xid and the span of its commit recorded."""
        try:
            with transaction.atomic():
                change()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()::xid::text")
                    xid = cursor.fetchone()[0]
                start = time.monotonic()
            end = time.monotonic()
        except UnsuitableState:
            return  # refused: rolled back, no event
        with self.lock:
            self.by_xid[xid] = (start, end)

    def request(self, session, method: str, url: str, **kwargs) -> None:
        start = time.monotonic()
        response = session.request(method, url, timeout=30, **kwargs)
        end = time.monotonic()
        action_uri = response.headers.get("X-Tutum-Action-URI")
        if response.status_code < 400 and action_uri:
            with self.lock:
                self.by_action[action_uri.rstrip("/").rsplit("/", 1)[-1]] = (start, end)


class Subscriber(threading.Thread):
    def __init__(self, address: str, headers: dict):
        super().__init__(daemon=True)
        self.ws = open_stream(address, "/v1/events", headers)
        assert read_messages(self.ws, until=lambda m: len(m) == 1) == [{"type": "auth"}]
        self.messages: list[dict] = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.messages.append(json.loads(self.ws.recv(timeout=0.5)))
            except TimeoutError:
                continue
            except ConnectionClosed:
                return

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.ws.close()


def _owned_events(owner_id: int, after: int) -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, xmin::text, type || ' ' || action || ' ' || resource_uuid::text FROM streams_event"
            " WHERE owner_id = %s AND id > %s ORDER BY id",
            [owner_id, after],
        )
        return cursor.fetchall()


def _action_xids(uuids) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_uuid::text, xmin::text FROM streams_event WHERE type = 'action' AND action = 'create'"
            " AND resource_uuid::text = ANY(%s)",
            [list(uuids)],
        )
        return dict(cursor.fetchall())


def _in_threads(functions, seconds: float, enough) -> None:
    """Runs each function in a loop in its own thread until `enough()` or `seconds` have passed."""
    done = threading.Event()
    errors = []

    def loop(function):
        try:
            while not done.is_set():
                function()
        except Exception as exc:  # a writer that fails fails the test
            errors.append(exc)
            done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=loop, args=(f,), daemon=True) for f in functions]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while not done.is_set() and time.monotonic() < deadline and not enough():
        time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def test_concurrent_changes_reach_the_subscriber_once_each_in_commit_order(asgi_server, user, other_user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    _, other_key = ApiKey.issue(other_user)
    alice_auth = {"Authorization": f"ApiKey alice:{key}"}
    ours = [make_application(user, f"web{n}", containers=1) for n in range(6)]
    theirs = make_application(other_user, "theirs", containers=1)
    start_id = latest_id()

    alice, bob = Subscriber(address, alice_auth), Subscriber(address, {"Authorization": f"ApiKey bob:{other_key}"})
    alice.start()
    bob.start()
    spans = Spans()

    def api_writer():
        session = requests.Session()
        session.headers.update(alice_auth)
        # Each thread its own random sequence: PATCH a target (no scale yet), or scale to it.
        rng = random.Random(threading.get_ident())

        def write():
            service = rng.choice(ours)
            url = f"http://{address}/api/v1/service/{service.uuid}/"
            if rng.random() < 0.5:
                spans.request(session, "PATCH", url, json={"target_num_containers": rng.randint(1, 3)})
            else:
                spans.request(session, "POST", f"{url}scale/")

        return write

    def use_case_writer():
        rng = random.Random(threading.get_ident())

        def write():
            service = rng.choice(ours)
            if rng.random() < 0.5:
                spans.run(lambda: use_cases.update_service(service, {"target_num_containers": rng.randint(1, 3)}))
            else:
                spans.run(lambda: use_cases.scale_service(service))

        return write

    def worker():
        """A container's step as the worker makes it: its state by compare-and-set, then the service's settle."""
        rng = random.Random(threading.get_ident())
        moves = [({C.STARTING}, C.RUNNING), ({C.TERMINATING}, C.TERMINATED), ({C.RUNNING}, C.STOPPED)]

        def write():
            expected, new = rng.choice(moves)
            row = (
                Container.objects.filter(service__owner=user, state__in=expected)
                .order_by("?")
                .values_list("pk", "service_id")
                .first()
            )
            if row is None:
                time.sleep(0.01)
                return
            spans.run(lambda: compare_and_set(Container.objects, row[0], expected, new))
            spans.run(lambda: use_cases.settle_service(row[1]))

        return write

    def bob_writer():
        """Bob's own changes, now and then: his subscriber gets those and nothing of alice's."""
        targets = itertools.cycle([2, 1])

        def write():
            spans.run(lambda: use_cases.update_service(theirs, {"target_num_containers": next(targets)}, scale=False))
            time.sleep(0.2)

        return write

    writers = [api_writer(), api_writer(), use_case_writer(), use_case_writer(), worker(), worker(), bob_writer()]
    _in_threads(writers, seconds=240, enough=lambda: len(_owned_events(user.pk, start_id)) >= CHANGES)

    recorded = _owned_events(user.pk, start_id)
    assert len(recorded) >= CHANGES
    bob_recorded = _owned_events(other_user.pk, start_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        len(alice.messages) < len(recorded) or len(bob.messages) < len(bob_recorded)
    ):
        time.sleep(0.2)
    time.sleep(2)  # anything sent twice would come now
    alice.stop()
    bob.stop()

    # Exactly once each, in the order of their ids, alice's only.
    assert [m["id"] for m in alice.messages] == [row[0] for row in recorded]
    assert [f"{m['type']} {m['action']} {m['uuid']}" for m in alice.messages] == [row[2] for row in recorded]
    assert [m["id"] for m in bob.messages] == [row[0] for row in bob_recorded] and bob_recorded
    assert not {m["uuid"] for m in bob.messages} & {m["uuid"] for m in alice.messages}
    kinds = {m["type"] for m in alice.messages}
    assert kinds == {"service", "container", "action"}, kinds

    # Commit order: every event's transaction is one the writers made and know the span of.
    for uuid, xid in _action_xids(spans.by_action).items():
        spans.by_xid[xid] = spans.by_action[uuid]
    xids = [row[1] for row in recorded]
    assert set(xids) <= set(spans.by_xid), "an event from a transaction no writer made"
    # One transaction's events come one after the other...
    runs = [xid for xid, _ in itertools.groupby(xids)]
    assert len(runs) == len(set(runs)), "one transaction's events interleaved with another's"
    # ...and before those of every transaction that began committing after it had committed.
    order = {xid: position for position, xid in enumerate(runs)}
    constrained = 0
    for a, b in itertools.permutations(runs, 2):
        if spans.by_xid[a][1] < spans.by_xid[b][0]:
            constrained += 1
            assert order[a] < order[b], f"transaction {a} committed before {b} but its events came after"
    assert constrained > len(runs), "the spans order too few transactions to say anything"
    http = len(spans.by_action)
    print(f"{len(recorded)} events of {len(runs)} transactions ({http} API requests), {constrained} ordered pairs")
    assert http > 10 and Service.objects.filter(owner=user).count() == 6

"""The worker keeps a thread's database connection from one task to the next (Celery's Django fixup
would close it before and after every task), and still drops one that failed or is too old."""

from types import SimpleNamespace

import psycopg2
import pytest
from celery import Celery
from celery.fixups.django import DjangoFixup
from celery.signals import task_postrun, task_prerun, worker_init
from django.db import connection

from orchestrator import tasks


class FakeWorker:
    def __init__(self, app):
        self.app = app
        self.pool_cls = "threads"


def _receivers(signal):
    return [ref() for _, ref in signal.receivers]


@pytest.fixture
def worker_app():
    app = Celery("connections-test")
    app.loader.import_default_modules = lambda: None
    (fixup,) = [f for f in app._fixups if isinstance(f, DjangoFixup)]
    yield app, fixup
    task_prerun.disconnect(fixup.worker_fixup.on_task_prerun)
    task_postrun.disconnect(fixup.worker_fixup.on_task_postrun)


def test_the_fixup_no_longer_closes_connections_around_every_task(worker_app):
    app, fixup = worker_app
    worker_init.send(sender=FakeWorker(app))  # the fixup installs its per-task handlers
    tasks.reuse_database_connections(sender=FakeWorker(app))  # on worker_ready, which comes after

    worker_fixup = fixup.worker_fixup
    for signal in (task_prerun, task_postrun):
        receivers = _receivers(signal)
        assert worker_fixup.on_task_prerun not in receivers
        assert worker_fixup.on_task_postrun not in receivers
    assert tasks.release_stale_connections in _receivers(task_prerun)
    assert tasks.release_stale_connections in _receivers(task_postrun)


def test_stale_connections_are_closed_between_tasks(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "close_old_connections", lambda: calls.append("db"))
    monkeypatch.setattr(tasks, "close_caches", lambda: calls.append("cache"))

    tasks.release_stale_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
    assert calls == ["db", "cache"]

    calls.clear()
    tasks.release_stale_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_the_next_task():
    """What the e2e suite does between tests (pg_terminate_backend), and what a Postgres restart does."""
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    old_pid = _backend_pid()
    other = psycopg2.connect(**{k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"})
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    finally:
        other.close()

    tasks.release_stale_connections(sender=task)

    assert _backend_pid() != old_pid


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_kept_between_tasks():
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    pid = _backend_pid()

    tasks.release_stale_connections(sender=task)
    tasks.release_stale_connections(sender=task)

    assert _backend_pid() == pid


def _backend_pid() -> int:
    """The Postgres backend serving this thread's connection (a new one after a reconnect)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

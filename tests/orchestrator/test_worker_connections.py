"""The worker keeps a thread's database connection from one task to the next (Celery's Django fixup
would close it before and after every task), and still drops one that failed or is too old."""

from types import SimpleNamespace

import pytest
from celery import Celery
from celery.fixups.django import DjangoFixup
from celery.signals import task_postrun, task_prerun, worker_init

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
        assert tasks.release_stale_connections in receivers


def test_stale_connections_are_closed_between_tasks(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "close_old_connections", lambda: calls.append("db"))
    monkeypatch.setattr(tasks, "close_caches", lambda: calls.append("cache"))

    tasks.release_stale_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
    assert calls == ["db", "cache"]

    calls.clear()
    tasks.release_stale_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert calls == []

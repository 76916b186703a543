"""Recovery without the sweep: a task outlasts a database or broker outage in its own thread, a worker that
connects to the broker resumes all work in progress, and a closed Redis channel fails as a lost connection.
The faults themselves, on real parts: tests/e2e/test_faults.py and test_engine_faults.py."""

from types import SimpleNamespace

import kombu.exceptions
import pytest
import redis.exceptions
from django.db import OperationalError, transaction

from apps.containers.choices import ContainerState as CS
from apps.services.choices import ServiceState as AS
from orchestrator import reconciler, tasks
from tests.api.app_support import make_application
from tutumserver import celery as worker_app
from tutumserver.broker import RedisTransport


@pytest.fixture
def no_sleep(monkeypatch):
    pauses = []
    monkeypatch.setattr(tasks.time, "sleep", pauses.append)
    return pauses


def flaky(*failures):
    """A task body failing with each of `failures` in turn, then answering its arguments."""
    calls = []

    def body(*args):
        calls.append(args)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return args

    return body, calls


def test_a_body_is_run_again_while_the_database_or_the_broker_is_away(no_sleep, settings):
    settings.TUTUM_OUTAGE_RETRY_SECONDS = 60
    outages = (
        OperationalError("server closed the connection unexpectedly"),
        kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.exceptions.ConnectionError("Connection closed by server."),
    )
    body, calls = flaky(*outages)

    assert tasks.outlasting_outages(body)("uuid") == ("uuid",)
    assert calls == [("uuid",)] * 4
    assert no_sleep == [tasks.OUTAGE_PAUSE] * 3


def test_the_tries_end_after_the_outage_retry_seconds(no_sleep, settings, monkeypatch):
    settings.TUTUM_OUTAGE_RETRY_SECONDS = 2
    clock = iter(range(0, 100))  # each look at the clock is a second later
    monkeypatch.setattr(tasks.time, "monotonic", lambda: next(clock))
    body, calls = flaky(*[OperationalError("the database system is starting up")] * 10)

    with pytest.raises(OperationalError):
        tasks.outlasting_outages(body)("uuid")
    assert len(calls) == 2


def test_no_retry_when_switched_off_or_for_other_errors(no_sleep, settings):
    settings.TUTUM_OUTAGE_RETRY_SECONDS = 0
    body, calls = flaky(OperationalError("connection refused"))
    with pytest.raises(OperationalError):
        tasks.outlasting_outages(body)("uuid")
    assert len(calls) == 1

    settings.TUTUM_OUTAGE_RETRY_SECONDS = 60
    body, calls = flaky(ValueError("a bug is not an outage"))
    with pytest.raises(ValueError):
        tasks.outlasting_outages(body)("uuid")
    assert len(calls) == 1 and no_sleep == []


@pytest.mark.django_db
def test_no_retry_inside_the_callers_transaction(no_sleep, settings):
    settings.TUTUM_OUTAGE_RETRY_SECONDS = 60
    body, calls = flaky(OperationalError("server closed the connection unexpectedly"))
    with transaction.atomic(), pytest.raises(OperationalError):
        tasks.outlasting_outages(body)("uuid")
    assert len(calls) == 1


@pytest.mark.django_db
def test_resume_converges_all_work_in_progress_however_recent(user, monkeypatch):
    scaling = make_application(user, "scaling", state=AS.SCALING, containers=2, container_state=CS.STARTING)
    restarting = make_application(user, "restarting", state=AS.RUNNING, containers=1, container_state=CS.STARTING)
    make_application(user, "settled", state=AS.RUNNING, containers=1, container_state=CS.RUNNING)
    sent = []
    monkeypatch.setattr(tasks.converge_service, "delay", lambda uuid: sent.append(("service", uuid)))
    monkeypatch.setattr(tasks.converge_container, "delay", lambda uuid: sent.append(("container", uuid)))

    assert reconciler.stuck_work() == ([], [])  # nothing has been in progress for TUTUM_STUCK_AFTER_SECONDS
    tasks.resume()

    # The scaling service fans out to its own containers: no second task for those.
    assert sorted(sent) == [("container", str(restarting.containers.get().uuid)), ("service", str(scaling.uuid))]


def test_a_worker_queues_resume_each_time_it_connects_unless_switched_off(settings):
    sent = []
    consumer = SimpleNamespace(app=SimpleNamespace(send_task=sent.append))
    step = worker_app.ResumeOnConnect(consumer)

    settings.TUTUM_RESUME_ON_CONNECT = True
    step.start(consumer)
    step.start(consumer)  # the consumer starts its steps again after the broker came back
    assert sent == ["orchestrator.resume", "orchestrator.resume"]

    settings.TUTUM_RESUME_ON_CONNECT = False
    step.start(consumer)
    assert len(sent) == 2


def test_the_worker_uses_the_consumer_that_reconnects_every_second():
    assert worker_app.app.conf.worker_consumer == "tutumserver.celery:Consumer"
    assert worker_app.BROKER_RECONNECT_INTERVALS["interval_max"] <= 1


def test_a_redis_channel_cut_from_its_connection_fails_as_a_lost_connection():
    channel = RedisTransport.Channel.__new__(RedisTransport.Channel)
    channel.connection = SimpleNamespace(client=None)  # what Connection.collect() leaves behind
    with pytest.raises(redis.exceptions.ConnectionError):
        channel._connparams()
    assert redis.exceptions.ConnectionError in RedisTransport.connection_errors

"""The reconciler's database side on Postgres: stuck work is found, retried or failed with a reason, and
only one copy of the sweep runs at a time."""

import zlib

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from apps.containers.choices import ContainerState as CS
from apps.containers.models import Container
from apps.services.choices import ServiceState as AS
from orchestrator import reconciler
from orchestrator.locks import try_advisory_lock
from tests.api.app_support import make_application, set_state

pytestmark = pytest.mark.django_db


def age(obj, seconds):
    type(obj).objects.filter(pk=obj.pk).update(modified=timezone.now() - timezone.timedelta(seconds=seconds))


def test_work_in_progress_past_the_stuck_timeout_is_converged_again(user, settings):
    settings.TUTUM_STUCK_AFTER_SECONDS = 30
    busy_app = make_application(user, "busy", state=AS.RUNNING, containers=1, container_state=CS.STARTING)
    stuck_app = make_application(user, "stuck", state=AS.STARTING, containers=2, container_state=CS.STARTING)
    fresh_app = make_application(user, "fresh", state=AS.SCALING, containers=1, container_state=CS.STARTING)
    stuck_container = busy_app.containers.get()
    age(stuck_container, 60)
    age(stuck_app, 60)
    for container in stuck_app.containers.all():
        age(container, 60)

    containers, services = reconciler.stuck_work()

    # The stuck application is converged again, and fans out to its own containers: no second task for them.
    assert services == [str(stuck_app.uuid)]
    assert containers == [str(stuck_container.uuid)]
    assert str(fresh_app.uuid) not in services
    assert Container.objects.get(pk=stuck_container.pk).state == CS.STARTING  # retried, not failed


def test_a_failed_start_with_autorestart_is_tried_again_after_the_backoff(user, settings):
    settings.TUTUM_RESTART_BACKOFF_SECONDS = 10
    again = make_application(
        user, "again", state=AS.START_FAILED, containers=1, container_state=CS.START_FAILED, autorestart="ON_FAILURE"
    )
    soon = make_application(
        user, "soon", state=AS.START_FAILED, containers=1, container_state=CS.START_FAILED, autorestart="ALWAYS"
    )
    never = make_application(user, "never", state=AS.START_FAILED, containers=1, container_state=CS.START_FAILED)
    age(again.containers.get(), 11)
    age(never.containers.get(), 11)

    containers, _ = reconciler.stuck_work()

    assert again.containers.get().state == CS.STARTING
    # Converged at once, not after another TUTUM_STUCK_AFTER_SECONDS as Starting.
    assert containers == [str(again.containers.get().uuid)]
    assert soon.containers.get().state == CS.START_FAILED  # within the backoff
    assert never.containers.get().state == CS.START_FAILED  # no autorestart: a failed start stays failed


def test_a_start_stuck_past_the_give_up_timeout_fails_with_a_reason(user, settings):
    settings.TUTUM_GIVE_UP_AFTER_SECONDS = 600
    app = make_application(user, "hopeless", state=AS.STARTING, containers=1, container_state=CS.STARTING)
    container = app.containers.get()
    age(container, 601)

    containers, _ = reconciler.stuck_work()

    container.refresh_from_db()
    assert container.state == CS.START_FAILED
    assert container.exit_code_msg == "Gave up after 600s: the container could not be started."
    assert str(container.uuid) not in containers


def test_an_application_short_of_containers_is_converged(user):
    app = make_application(user, "short", state=AS.RUNNING, containers=2)
    set_state(app.containers.get(number=2), CS.TERMINATED)  # e.g. lost while its replacement was not recorded

    _, services = reconciler.stuck_work()

    assert services == [str(app.uuid)]


def test_settled_applications_with_their_containers_are_left_alone(user):
    make_application(user, "calm", state=AS.RUNNING, containers=3)
    assert reconciler.stuck_work() == ([], [])


def test_only_one_sweep_at_a_time():
    """Another process holding the sweep's lock makes this one skip; once released, this one gets it."""
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or "127.0.0.1", port=db["PORT"]
    )
    key = zlib.crc32(b"orchestrator.sweep")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        with try_advisory_lock("orchestrator.sweep") as acquired:
            assert acquired is False
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        with try_advisory_lock("orchestrator.sweep") as acquired:
            assert acquired is True
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                assert cursor.fetchone()[0] is False
    finally:
        other.close()

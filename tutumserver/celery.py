import functools
import logging
import os

from celery import Celery, bootsteps
from celery.worker import consumer

from .broker import use_fixed_transports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutumserver.settings")
use_fixed_transports()

logger = logging.getLogger(__name__)

app = Celery("tutumserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = f"{__name__}:Consumer"
app.autodiscover_tasks(["orchestrator"])


@app.on_after_configure.connect
def schedule_sweep(sender, **kwargs):
    from django.conf import settings

    sender.add_periodic_task(
        settings.TUTUM_SWEEP_INTERVAL_SECONDS, sender.signature("orchestrator.sweep"), name="sweep"
    )


# Between two attempts to reach a lost broker. kombu's own waits grow by 2 s up to 30 s (attempts at 0, 2, 6,
# 12, 20, 30 s, …), so a worker could come back up to 10 s after a broker that was away for 20 s.
BROKER_RECONNECT_INTERVALS = {"interval_start": 0.5, "interval_step": 0.5, "interval_max": 1.0}


class Consumer(consumer.Consumer):
    """Celery's consumer, trying a lost broker again every 0.5-1 s instead of kombu's growing waits, and without
    mingle (`--without-mingle` whatever the command line says): at every start and every reconnect it waits 1 s
    for other workers to send it the ids of revoked tasks, which this server never revokes, before consuming
    anything (1.0 of the 2.5 s a Redis restart took to recover from, tests/e2e/test_engine_faults.py)."""

    def __init__(self, *args, worker_options=None, **kwargs):
        super().__init__(*args, worker_options={**(worker_options or {}), "without_mingle": True}, **kwargs)

    def ensure_connected(self, conn):
        conn.ensure_connection = functools.partial(conn.ensure_connection, **BROKER_RECONNECT_INTERVALS)
        return super().ensure_connected(conn)


class ResumeOnConnect(bootsteps.StartStopStep):
    """Queue orchestrator.resume each time the worker's consumer connects to the broker: when the worker
    starts, and again when it is back after losing the broker (the consumer's steps all start again then).
    Work in progress is then converged at once, not once the sweep counts it as stuck (orchestrator/tasks.py).
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c):
        from django.conf import settings

        if not settings.TUTUM_RESUME_ON_CONNECT:
            return
        try:
            c.app.send_task("orchestrator.resume")
        except Exception:  # the broker went again: the consumer reconnects and this runs once more
            logger.exception("could not queue orchestrator.resume; the sweep will find the work in progress")


app.steps["consumer"].add(ResumeOnConnect)

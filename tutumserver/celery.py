import os

from celery import Celery

from .broker import use_atomic_filesystem_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutumserver.settings")
use_atomic_filesystem_transport()

app = Celery("tutumserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["orchestrator"])


@app.on_after_configure.connect
def schedule_sweep(sender, **kwargs):
    from django.conf import settings

    sender.add_periodic_task(
        settings.TUTUM_SWEEP_INTERVAL_SECONDS, sender.signature("orchestrator.sweep"), name="sweep"
    )

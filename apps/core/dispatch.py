"""How the API wakes the controller: by task name, after the transaction that recorded the wish commits.

`apps/` never imports `orchestrator/`; a lost message is harmless because the periodic sweep
converges whatever is still in an in-progress state.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def wake(task_name: str, *args) -> None:
    def send():
        from tutumserver.celery import app

        try:
            app.send_task(task_name, args=[str(a) for a in args])
        except Exception:  # the broker may be down; the sweep will pick the work up
            logger.exception("could not send %s%s; the periodic sweep will retry", task_name, args)

    transaction.on_commit(send)

"""Container states and the operations allowed from each."""

from django.db import models


class ContainerState(models.TextChoices):
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    START_FAILED = "Start failed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


S = ContainerState
TRANSITIONAL = frozenset({S.STARTING, S.STOPPING, S.TERMINATING})
LIVE = frozenset(set(S) - {S.TERMINATING, S.TERMINATED})

ALLOWED_FROM = {
    "start": frozenset({S.STOPPED, S.START_FAILED}),
    "stop": frozenset({S.RUNNING}),
    "terminate": frozenset(set(S) - {S.TERMINATING, S.TERMINATED}),
}
ALREADY_DONE_IN = {
    "start": frozenset({S.STARTING, S.RUNNING}),
    "stop": frozenset({S.STOPPING, S.STOPPED}),
}

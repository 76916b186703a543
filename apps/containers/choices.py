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
    "redeploy": frozenset({S.RUNNING, S.STOPPED, S.START_FAILED}),
}
ALREADY_DONE_IN = {
    "start": frozenset({S.STARTING, S.RUNNING}),
    "stop": frozenset({S.STOPPING, S.STOPPED}),
}


class RecoveryAction(models.TextChoices):
    """What a crash-recovery flag does to a container that stopped on its own."""

    RESTART = "restart"
    REPLACE = "replace"
    DESTROY = "destroy"


def recovery_action(autorestart: str, autoreplace: str, autodestroy: str, exit_code: int | None) -> str | None:
    """The first flag that applies wins, in the order restart, replace, destroy.

    A container that vanished (exit code unknown) counts as a failure.
    """
    failed = exit_code != 0

    def applies(flag: str) -> bool:
        return flag == "ALWAYS" or (flag == "ON_FAILURE" and failed) or (flag == "ON_SUCCESS" and exit_code == 0)

    if applies(autorestart):
        return RecoveryAction.RESTART
    if applies(autoreplace):
        return RecoveryAction.REPLACE
    if applies(autodestroy):
        return RecoveryAction.DESTROY
    return None

"""Service states, sizes and crash-recovery values, and which operation is allowed from which state."""

from django.db import models


class ServiceState(models.TextChoices):
    # A service created through the 2015 API waits here for its first start (the 2014 face shows Stopped).
    NOT_RUNNING = "Not running"
    STARTING = "Starting"
    RUNNING = "Running"
    PARTLY_RUNNING = "Partly running"
    SCALING = "Scaling"
    REDEPLOYING = "Redeploying"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    START_FAILED = "Start failed"
    STOPPED_WITH_ERRORS = "Stopped with errors"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


S = ServiceState
TRANSITIONAL = frozenset({S.STARTING, S.SCALING, S.REDEPLOYING, S.STOPPING, S.TERMINATING})

# Operation -> states it may start from.
ALLOWED_FROM = {
    "start": frozenset({S.NOT_RUNNING, S.STOPPED, S.STOPPED_WITH_ERRORS, S.START_FAILED, S.PARTLY_RUNNING}),
    "stop": frozenset({S.RUNNING, S.PARTLY_RUNNING}),
    # Scaling again while scaling just moves the goal: the controller is level-triggered, and the last
    # accepted target is the one that holds (see docs/decisions.md).
    "scale": frozenset({S.NOT_RUNNING, S.RUNNING, S.PARTLY_RUNNING, S.STOPPED, S.STOPPED_WITH_ERRORS, S.SCALING}),
    "redeploy": frozenset({S.RUNNING, S.PARTLY_RUNNING, S.STOPPED, S.STOPPED_WITH_ERRORS}),
    "terminate": frozenset(set(S) - {S.TERMINATING, S.TERMINATED}),
}
# Operation -> states in which asking again is a no-op answered with 202 (already under way or true).
ALREADY_DONE_IN = {
    "start": frozenset({S.STARTING, S.RUNNING}),
    "stop": frozenset({S.STOPPING, S.STOPPED}),
}


class ContainerSize(models.TextChoices):
    XS = "XS"
    S = "S"
    M = "M"
    L = "L"
    XL = "XL"


class RecoveryPolicy(models.TextChoices):
    OFF = "OFF"
    ON_FAILURE = "ON_FAILURE"
    ALWAYS = "ALWAYS"


class Role(models.TextChoices):
    GLOBAL = "global"


class Protocol(models.TextChoices):
    TCP = "tcp"
    UDP = "udp"


class AutodestroyPolicy(models.TextChoices):
    """2014 clients send ON_FAILURE, 2015 ones ON_SUCCESS; both are honoured (crash recovery)."""

    OFF = "OFF"
    ON_FAILURE = "ON_FAILURE"
    ON_SUCCESS = "ON_SUCCESS"
    ALWAYS = "ALWAYS"


class DeploymentStrategy(models.TextChoices):
    EMPTIEST_NODE = "EMPTIEST_NODE"
    HIGH_AVAILABILITY = "HIGH_AVAILABILITY"
    EVERY_NODE = "EVERY_NODE"


class NetworkMode(models.TextChoices):
    BRIDGE = "bridge"
    HOST = "host"


class PidMode(models.TextChoices):
    NONE = "none"
    HOST = "host"

"""Action states and names, what an action may be asked from each state, and trigger operations."""

from django.db import models


class ActionState(models.TextChoices):
    # Pending and Canceling are the documented states of work that waits or is being undone; this server
    # starts the work in the request itself and cancels at once, so it never shows them (docs/decisions.md).
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    CANCELING = "Canceling"
    CANCELED = "Canceled"
    SUCCESS = "Success"
    FAILED = "Failed"


S = ActionState
# Still waiting for the controller: the states the controller finishes and a cancel applies to.
OPEN = frozenset({S.PENDING, S.IN_PROGRESS})
RETRYABLE_FROM = frozenset({S.SUCCESS, S.FAILED, S.CANCELED})


class TargetKind(models.TextChoices):
    """What an action acts on: the resource type of its `object` URI."""

    SERVICE = "service"
    CONTAINER = "container"
    STACK = "stack"


class ActionName:
    """The `action` strings, in Tutum's words ("Service Scale"). A 2014 /application/ call is recorded under
    the service name of what it does: both faces show one object."""

    SERVICE_CREATE = "Service Create"
    SERVICE_UPDATE = "Service Update"
    SERVICE_START = "Service Start"
    SERVICE_STOP = "Service Stop"
    SERVICE_SCALE = "Service Scale"
    SERVICE_REDEPLOY = "Service Redeploy"
    SERVICE_TERMINATE = "Service Terminate"
    CONTAINER_START = "Container Start"
    CONTAINER_STOP = "Container Stop"
    CONTAINER_REDEPLOY = "Container Redeploy"
    CONTAINER_TERMINATE = "Container Terminate"
    STACK_CREATE = "Stack Create"
    STACK_UPDATE = "Stack Update"
    STACK_START = "Stack Start"
    STACK_STOP = "Stack Stop"
    STACK_REDEPLOY = "Stack Redeploy"
    STACK_TERMINATE = "Stack Terminate"


class TriggerOperation(models.TextChoices):
    REDEPLOY = "REDEPLOY"
    SCALEUP = "SCALEUP"

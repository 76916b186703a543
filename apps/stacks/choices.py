"""Stack states (2015 API; "Not Running" with a capital R as Tutum wrote it)."""

from django.db import models


class StackState(models.TextChoices):
    NOT_RUNNING = "Not Running"
    STARTING = "Starting"
    RUNNING = "Running"
    PARTLY_RUNNING = "Partly running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    REDEPLOYING = "Redeploying"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"

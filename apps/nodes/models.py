from django.db import models

from apps.core.models import UuidModel


class NodeState(models.TextChoices):
    REACHABLE = "Deployed"
    UNREACHABLE = "Unreachable"


class Node(UuidModel):
    """A Docker engine containers run on. The engine at DOCKER_HOST is registered as the default node."""

    name = models.CharField(max_length=100, unique=True)
    docker_host = models.CharField(max_length=255, unique=True)
    publish_address = models.CharField(max_length=255, default="127.0.0.1")
    state = models.CharField(max_length=20, choices=NodeState.choices, default=NodeState.REACHABLE)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    schedulable = models.BooleanField(default=True, help_text="New containers may be placed here.")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.docker_host})"

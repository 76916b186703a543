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
    external_fqdn = models.CharField(
        max_length=255, blank=True, help_text="The name users reach it by; blank: its publish address."
    )
    nickname = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Tag names.")
    # What the engine said about itself at the last sweep (`docker info`); blank or null until it answered.
    docker_version = models.CharField(max_length=64, blank=True)
    docker_graphdriver = models.CharField(max_length=64, blank=True)
    docker_execdriver = models.CharField(max_length=64, blank=True)
    cpu = models.PositiveIntegerField(null=True, blank=True, help_text="CPUs.")
    memory = models.PositiveBigIntegerField(null=True, blank=True, help_text="MB.")
    disk = models.PositiveIntegerField(null=True, blank=True, help_text="GB, when the storage driver tells.")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.docker_host})"

    @property
    def fqdn(self) -> str:
        return self.external_fqdn or self.publish_address

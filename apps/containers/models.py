from django.conf import settings
from django.db import models

from apps.core.models import RetainedQuerySet, UuidModel

from .choices import ContainerState


class ContainerQuerySet(RetainedQuerySet):
    def owned_by(self, user):
        return self.filter(service__owner=user)

    def live(self):
        return self.exclude(state__in=[ContainerState.TERMINATING, ContainerState.TERMINATED])


class Container(UuidModel):
    """One container of a service, on one node.

    Its state says what the controller is doing or has done: Starting/Stopping/Terminating mean the
    controller still has work; Running/Stopped/Start failed/Terminated are settled.
    """

    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="containers")
    node = models.ForeignKey("nodes.Node", on_delete=models.PROTECT, null=True, blank=True, related_name="containers")
    number = models.PositiveIntegerField()
    unique_name = models.CharField(max_length=96)
    state = models.CharField(max_length=16, choices=ContainerState.choices, default=ContainerState.STARTING)
    generation = models.PositiveIntegerField(default=1)
    docker_id = models.CharField(max_length=64, blank=True)
    # Its address on the node's Docker network, where linked containers reach its inner ports.
    private_ip = models.CharField(max_length=45, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    exit_code_msg = models.TextField(null=True, blank=True)
    # A stop we asked for: Docker's SIGKILL after the timeout (137) is then no error of the service.
    stopped_on_request = models.BooleanField(default=False)
    deployed_datetime = models.DateTimeField(null=True, blank=True)
    started_datetime = models.DateTimeField(null=True, blank=True)
    stopped_datetime = models.DateTimeField(null=True, blank=True)
    destroyed_datetime = models.DateTimeField(null=True, blank=True)

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "modified"]), models.Index(fields=["unique_name"])]
        constraints = [models.UniqueConstraint(fields=["service", "number"], name="unique_container_number")]

    def __str__(self):
        return self.unique_name

    @property
    def public_dns(self) -> str:
        return f"{self.unique_name}-{self.service.owner.username}.{settings.TUTUM_PUBLIC_DOMAIN}"

    @property
    def api_url(self) -> str:
        return f"{settings.TUTUM_API_URL}/api/v1/container/{self.uuid}/"


class ContainerPort(models.Model):
    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="ports")
    inner_port = models.PositiveIntegerField()
    outer_port = models.PositiveIntegerField(null=True, blank=True)
    protocol = models.CharField(max_length=3, default="tcp")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.inner_port}/{self.protocol} -> {self.outer_port}"


class ContainerEnvVar(models.Model):
    """A variable the container was given at creation (secrets such as TUTUM_AUTH are never stored)."""

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="envvars")
    key = models.CharField(max_length=255)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.key

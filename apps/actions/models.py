from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import UuidModel
from apps.core.uris import action_uri, service_uri

from .choices import OPEN, RETRYABLE_FROM, ActionState, TargetKind, TriggerOperation


class ActionQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def open_on(self, kind: str, uuid) -> "ActionQuerySet":
        return self.filter(target_kind=kind, target_uuid=uuid, state__in=OPEN)


class Action(UuidModel):
    """One changing request (or trigger call) and the work it asked for: the account's audit log and the
    handle of asynchronous work.

    Recorded `In progress` when the change left work for the controller, else `Success` at once; the
    controller then moves it to `Success` or `Failed` (apps/actions/recording.py). A user's cancel makes an
    open action `Canceled`. It points at its object by URI and uuid, not by a foreign key, so it outlives
    the object and the retention of terminated objects.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="actions")
    object = models.CharField(max_length=255, help_text="The resource URI acted on.")
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices)
    target_uuid = models.UUIDField()
    action = models.CharField(max_length=64)
    # The use case that did it and its arguments (JSON), for a retry; empty when it cannot be repeated.
    operation = models.CharField(max_length=128, blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.TextField(blank=True)
    user_agent = models.TextField(blank=True)
    body = models.TextField(blank=True)
    ip = models.CharField(max_length=45, blank=True)
    location = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=ActionState.choices, default=ActionState.IN_PROGRESS)
    start_date = models.DateTimeField(default=timezone.now)
    end_date = models.DateTimeField(null=True, blank=True)
    is_user_action = models.BooleanField(default=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-id"]
        indexes = [
            models.Index(fields=["owner", "-start_date", "-id"], name="action_owner_newest"),
            models.Index(fields=["target_uuid", "state"], name="action_target_state"),
        ]

    def __str__(self):
        return f"{self.action} {self.object} ({self.state})"

    @property
    def resource_uri(self) -> str:
        return action_uri(self.uuid)

    @property
    def can_be_canceled(self) -> bool:
        return self.state in OPEN

    @property
    def can_be_retried(self) -> bool:
        return self.state in RETRYABLE_FROM and bool(self.operation)


class ActionLog(models.Model):
    """One line of an action's log, in the order written (the stream of an action's logs tails these)."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="logs")
    timestamp = models.DateTimeField(default=timezone.now)
    line = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.line


class Trigger(UuidModel):
    """A webhook of a service: POSTing its URL, with no credentials, redeploys or scales up the service.

    The random uuid in the URL is the only secret (uuid4: 122 random bits from the OS).
    """

    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=64, blank=True)
    operation = models.CharField(max_length=16, choices=TriggerOperation.choices, default=TriggerOperation.REDEPLOY)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name or self.uuid} ({self.operation})"

    @property
    def resource_uri(self) -> str:
        return f"{service_uri(self.service.uuid)}trigger/{self.uuid}/"

    @property
    def url(self) -> str:
        return f"{self.resource_uri}call/"

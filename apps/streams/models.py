from django.db import models
from django.db.models.functions import Now


class Event(models.Model):
    """What changed, for the event stream: one row per change of a service, container, node or stack, written
    by the list-version triggers (apps/core/listversions.py) in the transaction of the change, so that an event
    is there exactly when its change is. Rows are appended only; `prune_events` removes old ones."""

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"

    # The owner of the changed object; 0 for a change every user sees (nodes are the operator's).
    owner_id = models.BigIntegerField()
    type = models.CharField(max_length=16)
    action = models.CharField(max_length=8, choices=Action.choices)
    resource_uuid = models.UUIDField()
    state = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["owner_id", "id"]), models.Index(fields=["created"])]

    def __str__(self):
        return f"{self.id} {self.type} {self.action} {self.resource_uuid}"

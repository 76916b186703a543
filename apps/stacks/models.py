from django.conf import settings
from django.db import models

from apps.core.models import RetainedQuerySet, UuidModel

from .choices import StackState


class StackQuerySet(RetainedQuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)


class Stack(UuidModel):
    """A named set of services deployed from one stack file.

    `state` is read off its services (apps/stacks/services.py `derive_state`) and recorded here whenever one
    of them is saved; only Terminating comes from the stack itself (a DELETE).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stacks")
    name = models.CharField(max_length=64)
    nickname = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=24, choices=StackState.choices, default=StackState.NOT_RUNNING)
    deployed_datetime = models.DateTimeField(null=True, blank=True)
    destroyed_datetime = models.DateTimeField(null=True, blank=True)
    # Ids of the services a start has still to start, each once the services it links to have settled.
    waiting = models.JSONField(default=list, blank=True)

    objects = StackQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["owner", "name"])]

    def __str__(self):
        return self.name

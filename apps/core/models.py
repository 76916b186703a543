import uuid

from django.db import models


class UuidModel(models.Model):
    """Base for every API resource: addressed by a random uuid, never by its database id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone


class UuidModel(models.Model):
    """Base for every API resource: addressed by a random uuid, never by its database id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RetainedQuerySet(models.QuerySet):
    """Rows with a `destroyed_datetime`: terminated ones stay in lists for the retention period (design.md)."""

    def visible_in_lists(self):
        cutoff = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_TERMINATED_RETENTION_SECONDS)
        return self.filter(Q(destroyed_datetime__isnull=True) | Q(destroyed_datetime__gte=cutoff))

    def with_port_list(self):
        """The rows' `ports` prefetched into a plain list, `port_list`, for serializers.

        A plain prefetch gives every row a filtered queryset of its own to hold the result; on a list page
        that cost more CPU than the query itself (25 querysets, ~1 ms). A list attribute costs nothing.
        """
        return self.prefetch_related(Prefetch("ports", to_attr="port_list"))

import json
import uuid
from collections import namedtuple
from functools import cache

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone


class UuidModel(models.Model):
    """Base for every API resource: addressed by a random uuid, never by its database id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ListVersion(models.Model):
    """A random token that database triggers replace, in the same transaction, whenever a row that an
    owner's lists show changes (apps/core/listversions.py). Owner 0 holds the database's own token, renewed
    by every `migrate` and `flush`, for changes every owner's lists show (node states). Pages are cached
    under these tokens (apps/core/listcache.py)."""

    GLOBAL_OWNER = 0

    owner_id = models.BigIntegerField(primary_key=True)
    token = models.CharField(max_length=32)

    def __str__(self):
        return f"{self.owner_id}: {self.token}"


class RetainedQuerySet(models.QuerySet):
    """Rows with a `destroyed_datetime`: terminated ones stay in lists for TUTUM_TERMINATED_RETENTION_SECONDS."""

    def visible_in_lists(self):
        cutoff = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_TERMINATED_RETENTION_SECONDS)
        return self.filter(Q(destroyed_datetime__isnull=True) | Q(destroyed_datetime__gte=cutoff))

    def first_list_expiry(self):
        """When the earliest terminated row of these leaves the lists (None if none is listed): until then,
        time alone changes no list of them."""
        first = (
            self.visible_in_lists()
            .filter(destroyed_datetime__isnull=False)
            .order_by("destroyed_datetime")
            .values_list("destroyed_datetime", flat=True)
            .first()
        )
        if first is None:
            return None
        return first + timezone.timedelta(seconds=settings.TUTUM_TERMINATED_RETENTION_SECONDS)

    def with_port_list(self):
        """Each row's `ports` read in the same statement, as `port_list`: a list of tuples with the port
        model's fields, in the ports' id order.

        A prefetch is one more statement per page: Django builds, compiles and runs a second queryset and
        makes a model instance per port, 1.7 ms of CPU on a list page of 25 (bench/api.py), more than the
        page query itself. A correlated subquery aggregating the ports into JSON runs only for the page's rows.
        """
        sql = _ports_json_sql(self.model, self.db)
        return self.annotate(port_list=RawSQL(sql, (), output_field=PortList(self.model)))


@cache
def port_row_type(model):
    """The tuple type of one of `model`'s ports: the port model's own columns (not its id or owner)."""
    relation = model._meta.get_field("ports")
    names = [f.name for f in relation.related_model._meta.concrete_fields if not (f.primary_key or f.is_relation)]
    return namedtuple(f"{relation.related_model.__name__}Row", names)


@cache
def _ports_json_sql(model, alias: str) -> str:
    relation = model._meta.get_field("ports")
    ports = relation.related_model._meta
    vendor, quote = connections[alias].vendor, connections[alias].ops.quote_name
    names = [quote(ports.get_field(name).column) for name in port_row_type(model)._fields]
    table, foreign_key, port_id = quote(ports.db_table), quote(relation.field.column), quote(ports.pk.column)
    owner = f"{quote(model._meta.db_table)}.{quote(model._meta.pk.column)}"
    if vendor == "postgresql":
        values = ", ".join(f"p.{name}" for name in names)
        return (
            f"(SELECT COALESCE(json_agg(json_build_array({values}) ORDER BY p.{port_id}), '[]')::text"
            f" FROM {table} p WHERE p.{foreign_key} = {owner})"
        )
    if vendor == "sqlite":  # no ORDER BY inside an aggregate before SQLite 3.44: aggregate an ordered subquery
        values = ", ".join(f"o.{name}" for name in names)
        return (
            f"(SELECT json_group_array(json_array({values}))"
            f" FROM (SELECT * FROM {table} p WHERE p.{foreign_key} = {owner} ORDER BY p.{port_id}) o)"
        )
    raise NotImplementedError(f"with_port_list() has no SQL for {vendor}")


class PortList(models.Field):
    """Output field of the JSON array of arrays that with_port_list() builds in SQL: a list of port tuples."""

    def __init__(self, model):
        self.row_type = port_row_type(model)
        super().__init__()

    def from_db_value(self, value, expression, connection):
        return [self.row_type(*values) for values in json.loads(value)]

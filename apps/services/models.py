from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL

from apps.core.models import RetainedQuerySet, UuidModel
from apps.core.uris import image_tag_uri

from .choices import ContainerSize, Protocol, RecoveryPolicy, ServiceState


def _container_count(condition: str, params: tuple):
    """SQL for a count of the containers of the outer query's service matching `condition`.

    Written out, not as Subquery(Container.objects...): resolving a queryset subquery into the outer query
    cost ~0.5 ms of CPU per count on every list request (3 per page), more than running the page query.
    """
    from apps.containers.models import Container

    table = connection.ops.quote_name(Container._meta.db_table)
    outer = connection.ops.quote_name(Service._meta.db_table)
    sql = f"SELECT COUNT(*) FROM {table} c WHERE c.service_id = {outer}.id AND {condition}"
    return RawSQL(sql, params, output_field=models.IntegerField())


class ServiceQuerySet(RetainedQuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def with_counts(self):
        """Container counts computed in the same query, so lists cost the same whatever the page size.

        Correlated subqueries, not Count() over a join: a GROUP BY would drop Meta.ordering (pages without
        ORDER BY), make count() join every container of the user, and aggregate all the user's services
        before LIMIT. A subquery runs only for the rows of the page, and count() leaves it out.
        """
        from apps.containers.choices import ContainerState as C

        return self.annotate(
            current_num_containers=_container_count("c.state <> %s", (C.TERMINATED,)),
            running_num_containers=_container_count("c.state = %s", (C.RUNNING,)),
            stopped_num_containers=_container_count("c.state = %s", (C.STOPPED,)),
        )


class Service(UuidModel):
    """What a user asked to run: an image, how many containers, and how to keep them alive.

    `state` is in-progress (Starting, Scaling, Redeploying, Stopping, Terminating) while the controller
    works, then derived from the containers. `generation` grows with each redeploy.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=64)
    unique_name = models.CharField(max_length=80)
    image_repository = models.CharField(max_length=255)
    image_tag_name = models.CharField(max_length=128, default="latest")
    image_defaults_applied = models.BooleanField(default=False)
    container_size = models.CharField(max_length=2, choices=ContainerSize.choices, default=ContainerSize.XS)
    run_command = models.TextField(blank=True)
    entrypoint = models.TextField(blank=True)
    autorestart = models.CharField(max_length=10, choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autoreplace = models.CharField(max_length=10, choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autodestroy = models.CharField(max_length=10, choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    roles = models.JSONField(default=list, blank=True)
    web_public_dns = models.CharField(max_length=255, blank=True, null=True)
    target_num_containers = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=24, choices=ServiceState.choices, default=ServiceState.STARTING)
    generation = models.PositiveIntegerField(default=1)
    next_container_number = models.PositiveIntegerField(default=1)
    linked_to = models.ManyToManyField("self", symmetrical=False, related_name="linked_from", blank=True)
    deployed_datetime = models.DateTimeField(null=True, blank=True)
    started_datetime = models.DateTimeField(null=True, blank=True)
    stopped_datetime = models.DateTimeField(null=True, blank=True)
    destroyed_datetime = models.DateTimeField(null=True, blank=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["owner", "unique_name"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["state", "modified"]),
        ]

    def __str__(self):
        return self.unique_name

    @property
    def image_name(self) -> str:
        return f"{self.image_repository}:{self.image_tag_name}"

    @property
    def image_tag_uri(self) -> str:
        return image_tag_uri(self.image_repository, self.image_tag_name)

    @property
    def public_dns(self) -> str:
        return f"{self.unique_name}-{self.owner.username}.{settings.TUTUM_PUBLIC_DOMAIN}"

    @property
    def api_url(self) -> str:
        return f"{settings.TUTUM_API_URL}/api/v1/application/{self.uuid}/"


class ServicePort(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="ports")
    inner_port = models.PositiveIntegerField()
    protocol = models.CharField(max_length=3, choices=Protocol.choices, default=Protocol.TCP)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "inner_port", "protocol"], name="unique_service_port")
        ]

    def __str__(self):
        return f"{self.inner_port}/{self.protocol}"


class ServiceEnvVar(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="envvars")
    key = models.CharField(max_length=255)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["service", "key"], name="unique_service_envvar")]

    def __str__(self):
        return self.key

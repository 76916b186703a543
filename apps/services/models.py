from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL

from apps.core.models import RetainedQuerySet, UuidModel
from apps.core.uris import application_uri, image_tag_uri, service_uri

from .choices import (
    AutodestroyPolicy,
    ContainerSize,
    DeploymentStrategy,
    NetworkMode,
    PidMode,
    Protocol,
    RecoveryPolicy,
    ServiceState,
)


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
    stack = models.ForeignKey("stacks.Stack", on_delete=models.SET_NULL, null=True, blank=True, related_name="services")
    name = models.CharField(max_length=64)
    nickname = models.CharField(max_length=255, blank=True)
    unique_name = models.CharField(max_length=80)
    image_repository = models.CharField(max_length=255)
    image_tag_name = models.CharField(max_length=128, default="latest")
    image_defaults_applied = models.BooleanField(default=False)
    # The image's own ENV, read when its defaults were applied: the first of a container's variables.
    image_envvars = models.JSONField(default=dict, blank=True)
    # The 2014 size; `memory` and `cpu_shares` are what Docker gets (a size sets both, see choices).
    container_size = models.CharField(max_length=2, choices=ContainerSize.choices, default=ContainerSize.XS)
    memory = models.PositiveIntegerField(null=True, blank=True, help_text="MB; null: no limit.")
    memory_swap = models.IntegerField(null=True, blank=True, help_text="MB of memory plus swap; -1: unlimited.")
    cpu_shares = models.PositiveIntegerField(null=True, blank=True)
    cpuset = models.CharField(max_length=64, blank=True)
    run_command = models.TextField(blank=True)
    entrypoint = models.TextField(blank=True)
    autorestart = models.CharField(max_length=10, choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autoreplace = models.CharField(max_length=10, choices=RecoveryPolicy.choices, default=RecoveryPolicy.OFF)
    autodestroy = models.CharField(max_length=10, choices=AutodestroyPolicy.choices, default=AutodestroyPolicy.OFF)
    autoredeploy = models.BooleanField(default=False)
    roles = models.JSONField(default=list, blank=True)
    web_public_dns = models.CharField(max_length=255, blank=True, null=True)
    target_num_containers = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=24, choices=ServiceState.choices, default=ServiceState.STARTING)
    # False once a change needs new containers, until a redeploy makes them (2015 `synchronized`).
    synchronized = models.BooleanField(default=True)
    generation = models.PositiveIntegerField(default=1)
    # Whether the redeploy under way gives the new containers the old ones' volumes.
    reuse_volumes = models.BooleanField(default=True)
    next_container_number = models.PositiveIntegerField(default=1)
    linked_to = models.ManyToManyField(
        "self", symmetrical=False, through="ServiceLink", related_name="linked_from", blank=True
    )
    deployment_strategy = models.CharField(
        max_length=20, choices=DeploymentStrategy.choices, default=DeploymentStrategy.EMPTIEST_NODE
    )
    sequential_deployment = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True, help_text="Tag names; containers go to nodes with all of them.")
    # Docker settings of every container (2015 service fields), carried into `docker create`.
    labels = models.JSONField(default=dict, blank=True)
    working_dir = models.CharField(max_length=255, blank=True)
    user = models.CharField(max_length=255, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    domainname = models.CharField(max_length=255, blank=True)
    mac_address = models.CharField(max_length=17, blank=True)
    cgroup_parent = models.CharField(max_length=255, blank=True)
    tty = models.BooleanField(default=False)
    stdin_open = models.BooleanField(default=False)
    privileged = models.BooleanField(default=False)
    read_only = models.BooleanField(default=False)
    net = models.CharField(max_length=10, choices=NetworkMode.choices, default=NetworkMode.BRIDGE)
    pid = models.CharField(max_length=10, choices=PidMode.choices, default=PidMode.NONE)
    dns = models.JSONField(default=list, blank=True)
    dns_search = models.JSONField(default=list, blank=True)
    cap_add = models.JSONField(default=list, blank=True)
    cap_drop = models.JSONField(default=list, blank=True)
    devices = models.JSONField(default=list, blank=True)
    extra_hosts = models.JSONField(default=list, blank=True)
    security_opt = models.JSONField(default=list, blank=True)
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
    def legacy_state(self) -> str:
        """The state in the 2014 shape, which has no `Not running`: a service never started is Stopped."""
        return ServiceState.STOPPED if self.state == ServiceState.NOT_RUNNING else self.state

    @property
    def api_url(self) -> str:
        return f"{settings.TUTUM_API_URL}{application_uri(self.uuid)}"

    @property
    def service_api_url(self) -> str:
        return f"{settings.TUTUM_API_URL}{service_uri(self.uuid)}"


class ServicePort(models.Model):
    """A port of every container. Published ports get `outer_port` on the node, or a free one when null;
    unpublished ones are only exposed to linked containers."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="ports")
    inner_port = models.PositiveIntegerField()
    protocol = models.CharField(max_length=3, choices=Protocol.choices, default=Protocol.TCP)
    outer_port = models.PositiveIntegerField(null=True, blank=True)
    published = models.BooleanField(default=True)
    port_name = models.CharField(max_length=64, blank=True)

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


class ServiceLink(models.Model):
    """`from_service` links to `to_service` under `name`: the prefix of the link variables it receives
    (2015 alias; empty for a 2014 link, whose variables are named after each linked container)."""

    from_service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="links_out")
    to_service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="links_in")
    name = models.CharField(max_length=64, blank=True)

    class Meta:
        # The table of the many-to-many field it replaced (services 0003), with that table's unique index
        # on the pair.
        db_table = "services_service_linked_to"
        ordering = ["id"]

    def __str__(self):
        return f"{self.from_service_id} -> {self.to_service_id} ({self.name})"


class ServiceBinding(models.Model):
    """A volume of every container: a host path or named volume at `container_path`, an anonymous volume
    (no host path), or all the volumes of another service's container (`volumes_from`)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="bindings")
    host_path = models.CharField(max_length=1024, blank=True)
    container_path = models.CharField(max_length=1024, blank=True)
    rewritable = models.BooleanField(default=True)
    volumes_from = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.host_path}:{self.container_path}"

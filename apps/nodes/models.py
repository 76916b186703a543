from django.db import models

from apps.core.models import UuidModel
from apps.images.crypto import decrypt_secret, encrypt_secret


class NodeState(models.TextChoices):
    REACHABLE = "Deployed"
    UNREACHABLE = "Unreachable"
    TERMINATING = "Terminating"  # drained: its containers are replaced elsewhere, then it is Terminated
    TERMINATED = "Terminated"


class NodeClusterState(models.TextChoices):
    """Derived from its nodes (a cluster here is a named group of registered engines, never deployed)."""

    DEPLOYED = "Deployed"
    PARTLY_DEPLOYED = "Partly deployed"
    UNREACHABLE = "Unreachable"
    EMPTY = "Empty cluster"
    TERMINATED = "Terminated"


class NodeCluster(UuidModel):
    """A named group of registered nodes; its tags apply to every node in it (placement reads both)."""

    name = models.CharField(max_length=100)
    nickname = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Tag names.")
    destroyed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(destroyed__isnull=True), name="unique_live_nodecluster_name"
            )
        ]

    def __str__(self):
        return self.name

    def derived_state(self, node_states: list[str]) -> str:
        if self.destroyed:
            return NodeClusterState.TERMINATED
        live = [state for state in node_states if state != NodeState.TERMINATED]
        if not live:
            return NodeClusterState.EMPTY
        reachable = sum(1 for state in live if state == NodeState.REACHABLE)
        if reachable == len(live):
            return NodeClusterState.DEPLOYED
        return NodeClusterState.PARTLY_DEPLOYED if reachable else NodeClusterState.UNREACHABLE


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
    node_cluster = models.ForeignKey(
        NodeCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="nodes"
    )
    # What the engine said about itself at the last sweep (`docker info`); blank or null until it answered.
    docker_version = models.CharField(max_length=64, blank=True)
    docker_graphdriver = models.CharField(max_length=64, blank=True)
    docker_execdriver = models.CharField(max_length=64, blank=True)
    cpu = models.PositiveIntegerField(null=True, blank=True, help_text="CPUs.")
    memory = models.PositiveBigIntegerField(null=True, blank=True, help_text="MB.")
    disk = models.PositiveIntegerField(null=True, blank=True, help_text="GB, when the storage driver tells.")
    # TLS client material for a tcp:// engine, encrypted like registry passwords; blank: no TLS.
    destroyed = models.DateTimeField(null=True, blank=True, help_text="When its drain ended (Terminated).")
    tls_ca = models.TextField(blank=True, help_text="Encrypted.")
    tls_cert = models.TextField(blank=True, help_text="Encrypted.")
    tls_key = models.TextField(blank=True, help_text="Encrypted.")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.docker_host})"

    @property
    def fqdn(self) -> str:
        return self.external_fqdn or self.publish_address

    @property
    def all_tags(self) -> set[str]:
        """Its own tags and its cluster's: what placement matches a service's tags against."""
        cluster = self.node_cluster if self.node_cluster_id else None
        return set(self.tags) | set(cluster.tags if cluster else ())

    def set_tls(self, ca: str, cert: str, key: str) -> None:
        """Store the CA, client certificate and key (PEM), encrypted; all blank: no TLS."""
        self.tls_ca, self.tls_cert, self.tls_key = (encrypt_secret(pem) if pem else "" for pem in (ca, cert, key))

    def tls_pems(self) -> tuple[str, str, str] | None:
        if not self.tls_cert:
            return None
        return tuple(decrypt_secret(token) if token else "" for token in (self.tls_ca, self.tls_cert, self.tls_key))

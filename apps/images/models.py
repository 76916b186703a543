"""Registries, images and their tags.

An image row is either a catalogue/inventory image (`owner` null: jumpstarts and base images flagged by an
administrator, plus every image the controller pulled for an application) or a user's private image
(`owner` set, with registry credentials whose password is stored encrypted).
"""

import shlex

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.images import DEFAULT_REGISTRY
from apps.core.models import UuidModel
from apps.core.uris import image_tag_uri, image_uri, registry_uri

from .crypto import decrypt_secret, encrypt_secret


class Registry(UuidModel):
    """A Docker registry, addressed by its host (with the port when it has one: `127.0.0.1:5000`)."""

    host = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)
    image_url = models.CharField(max_length=255, blank=True)
    is_tutum_registry = models.BooleanField(default=False)

    class Meta:
        ordering = ["host"]
        verbose_name_plural = "registries"

    def __str__(self):
        return self.host

    @property
    def resource_uri(self) -> str:
        return registry_uri(self.host)


class ImageQuerySet(models.QuerySet):
    def catalogue(self):
        return self.filter(owner__isnull=True).filter(Q(starred=True) | Q(base_image=True))

    def listed_for(self, user):
        """The list of the spec: jumpstarts, base images and the user's own private images."""
        return self.filter(Q(owner=user) | Q(owner__isnull=True, starred=True) | Q(owner__isnull=True, base_image=True))

    def readable_by(self, user):
        """What a user may read by name: the list, plus the inventory images their applications use."""
        from apps.services.models import Service

        used = Service.objects.filter(owner=user).values("image_repository")
        shared = Q(starred=True) | Q(base_image=True) | Q(name__in=used)
        return self.filter(Q(owner=user) | Q(owner__isnull=True) & shared)

    def named(self, name: str, user):
        """The one image a name means for a user: their own private image first, then the shared one."""
        return self.readable_by(user).filter(name=name).order_by(models.F("owner").asc(nulls_last=True), "id").first()


class Image(UuidModel):
    """An image repository (`tutum/lamp`, `127.0.0.1:5000/team/app`); its tags carry the inspected details."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="images"
    )
    name = models.CharField(max_length=255)
    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="images")
    description = models.TextField(blank=True)
    is_private_image = models.BooleanField(default=False)
    starred = models.BooleanField(default=False, help_text="A jumpstart: listed for every user.")
    base_image = models.BooleanField(default=False, help_text="A Linux base image: listed for every user.")
    cluster_aware = models.BooleanField(default=False)
    registry_username = models.CharField(max_length=255, blank=True)
    encrypted_password = models.TextField(blank=True, editable=False)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_private_image_name"),
            models.UniqueConstraint(fields=["name"], condition=Q(owner__isnull=True), name="unique_shared_image_name"),
        ]

    def __str__(self):
        return self.name if self.owner_id is None else f"{self.name} ({self.owner})"

    def set_password(self, password: str) -> None:
        self.encrypted_password = encrypt_secret(password)

    def password(self) -> str:
        return decrypt_secret(self.encrypted_password) if self.encrypted_password else ""

    @property
    def resource_uri(self) -> str:
        return image_uri(self.name)

    @property
    def public_url(self) -> str:
        host = self.registry.host
        path = self.name[len(host) + 1 :] if self.name.startswith(f"{host}/") else self.name
        if host == DEFAULT_REGISTRY:
            return f"https://index.docker.io/u/{path}/" if "/" in path else f"https://index.docker.io/_/{path}/"
        if host == "quay.io":
            return f"https://quay.io/repository/{path}"
        return ""


class ImageTag(models.Model):
    """One tag of an image, with what inspecting it on a node showed; refreshed on every pull."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    docker_id = models.CharField(max_length=128, blank=True)
    author = models.CharField(max_length=255, blank=True)
    entrypoint = models.TextField(blank=True)
    run_command = models.TextField(blank=True)
    image_creation = models.DateTimeField(null=True, blank=True)
    envvars = models.JSONField(default=list, blank=True)
    ports = models.JSONField(default=list, blank=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["image", "name"], name="unique_image_tag")]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.image.name}:{self.name}"

    @property
    def resource_uri(self) -> str:
        return image_tag_uri(self.image.name, self.name)

    @staticmethod
    def details_from(info) -> dict:
        """Model fields from the driver's ImageInfo (duck-typed: apps/ does not import orchestrator/)."""
        return {
            "docker_id": info.id,
            "author": info.author,
            "entrypoint": shlex.join(info.entrypoint),
            "run_command": shlex.join(info.command),
            "image_creation": info.created,
            "envvars": [{"key": k, "value": v} for k, v in info.env.items()],
            "ports": [{"port": p.inner_port, "protocol": p.protocol} for p in info.ports],
        }

"""Use cases on images: add, update and delete private images; record what the controller learnt about a tag.

Registry credentials are checked by the function named in settings.TUTUM_REGISTRY_LOGIN (the controller's
driver logs in with them), so nothing here talks to Docker. Passwords leave this module only encrypted, to
the database, or as the credentials of a pull; they are never logged and never put in a message.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

from apps.core.dispatch import wake
from apps.core.exceptions import UnsuitableState
from apps.core.images import parse_image_reference

from .models import Image, ImageTag, Registry

logger = logging.getLogger(__name__)

REFRESH_IMAGE = "orchestrator.refresh_image"
KNOWN_REGISTRY_NAMES = {"index.docker.io": "Docker Hub", "quay.io": "Quay.io"}


class RegistryLoginRefused(Exception):
    """The registry refused the credentials; the message is the registry's reason."""


class RegistryCheckUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "No Docker node is reachable to check the registry credentials; try again later."


class NotYourImage(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Only your private images can be changed or deleted."


@dataclass(frozen=True)
class Credentials:
    """What a pull needs; the same two fields as orchestrator.driver.RegistryAuth."""

    username: str
    password: str = field(repr=False)


def _scrubbed(message: str, password: str) -> str:
    return message.replace(password, "***") if password else message


def check_credentials(registry: str, username: str, password: str) -> None:
    """Log in to `registry` now; 400 naming the registry's reason when it refuses."""
    try:
        import_string(settings.TUTUM_REGISTRY_LOGIN)(registry, username, password)
    except RegistryLoginRefused as exc:
        reason = _scrubbed(str(exc), password)
        logger.info("registry %s refused the login of %r: %s", registry, username, reason)
        raise serializers.ValidationError(
            {"password": [f"The registry {registry} refused the credentials: {reason}"]}
        ) from None


def registry_for(host: str) -> Registry:
    registry, _ = Registry.objects.get_or_create(host=host, defaults={"name": KNOWN_REGISTRY_NAMES.get(host, host)})
    return registry


def add_private_image(owner, data: dict) -> Image:
    """Check the credentials against the registry, then record the image (202); a worker pulls and inspects it."""
    reference = parse_image_reference(data["name"])
    check_credentials(reference.registry, data["username"], data["password"])
    image = Image(
        owner=owner,
        name=reference.repository,
        description=data.get("description", ""),
        is_private_image=True,
        registry_username=data["username"],
    )
    image.set_password(data["password"])
    try:
        with transaction.atomic():
            image.registry = registry_for(reference.registry)
            image.save()
            wake(REFRESH_IMAGE, image.uuid)
    except IntegrityError:
        raise serializers.ValidationError({"name": [f"You already have an image named {image.name}."]}) from None
    return image


def update_private_image(image: Image, data: dict) -> Image:
    """PATCH: description, and credentials (checked against the registry before they replace the old ones)."""
    if image.owner_id is None:
        raise NotYourImage()
    username = data.get("username") or image.registry_username
    password = data.get("password")
    if password is not None:
        check_credentials(image.registry.host, username, password)
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        if "description" in data:
            locked.description = data["description"]
        if password is not None:
            locked.registry_username = username
            locked.set_password(password)
            wake(REFRESH_IMAGE, locked.uuid)
        locked.save()
    return locked


def delete_private_image(image: Image) -> None:
    """Remove the image from the account only (not from the registry, not from the nodes)."""
    from apps.services.choices import ServiceState

    if image.owner_id is None:
        raise NotYourImage()
    in_use = (
        image.owner.services.filter(image_repository=image.name)
        .exclude(state__in=[ServiceState.TERMINATING, ServiceState.TERMINATED])
        .order_by("id")
        .values_list("unique_name", flat=True)
    )
    names = list(in_use[:5])
    if names:
        raise UnsuitableState(f"The image {image.name} is used by live applications: {', '.join(names)}.")
    image.delete()


# ---------------------------------------------------------------- for the controller


def pull_credentials(owner, repository: str) -> Credentials | None:
    """The owner's credentials for pulling `repository`, or None when they added none."""
    image = Image.objects.filter(owner=owner, name=repository, is_private_image=True).first()
    if image is None or not image.encrypted_password:
        return None
    return Credentials(image.registry_username, image.password())


def is_private_repository(repository: str) -> bool:
    """Someone registered credentials for it: never trust a node's copy, always pull with the owner's."""
    return Image.objects.filter(name=repository, is_private_image=True).exists()


@transaction.atomic
def record_image_tag(repository: str, tag: str, info) -> None:
    """Store what inspecting `repository:tag` on a node showed, on every image row of that name.

    A shared inventory row is made when none exists, so that every application's `image_tag` URI resolves.
    """
    images = Image.objects.filter(name=repository)
    showing_it = ImageTag.objects.filter(name=tag, docker_id=info.id).values("image_id")
    if images.exists() and not images.exclude(pk__in=showing_it).exists():
        return  # every row already shows this very image: each container start would otherwise rewrite it
    reference = parse_image_reference(repository)
    registry = registry_for(reference.registry if reference else repository.split("/", 1)[0])
    Image.objects.get_or_create(name=repository, owner=None, defaults={"registry": registry})
    details = ImageTag.details_from(info)
    for image in Image.objects.filter(name=repository):
        ImageTag.objects.update_or_create(image=image, name=tag, defaults=details)

"""Images on nodes: registry logins for the API, pulls with the owner's credentials, recording what a pull showed.

Credentials are passed to the driver and nowhere else: no log line and no task argument carries them.
"""

import logging

from celery import shared_task

from apps.images import services as image_services
from apps.images.models import Image
from apps.services.models import Service

from .driver import DriverError, ImageInfo, NodeUnreachable, RegistryAuth, driver_for
from .scheduler import pick_node

logger = logging.getLogger(__name__)


def check_registry_login(registry: str, username: str, password: str) -> None:
    """settings.TUTUM_REGISTRY_LOGIN: log in from a node, fresh (reauth); raise RegistryLoginRefused if refused."""
    node = pick_node()
    try:
        driver_for(node).login(registry, username, password)
    except NodeUnreachable as exc:
        logger.warning("registry login to %s: node %s unreachable", registry, node.name)
        raise image_services.RegistryCheckUnavailable() from exc
    except DriverError as exc:
        raise image_services.RegistryLoginRefused(str(exc)) from None


def registry_auth(owner, repository: str) -> RegistryAuth | None:
    credentials = image_services.pull_credentials(owner, repository)
    return RegistryAuth(credentials.username, credentials.password) if credentials else None


def application_auth(service: Service) -> RegistryAuth | None:
    return registry_auth(service.owner, service.image_repository)


def ensure_image(driver, repository: str, tag: str, auth: RegistryAuth | None) -> ImageInfo | None:
    """The image on this node, pulled when missing, and always pulled (with `auth`) for a private repository:
    a copy another user's credentials brought to the node must not serve someone without them.
    Records the inspected details on the image's tag. DriverError when the pull is refused."""
    reference = f"{repository}:{tag}"
    info = None if image_services.is_private_repository(repository) else driver.inspect_image(reference)
    if info is None:
        driver.pull(reference, auth)
        info = driver.inspect_image(reference)
    if info is not None:
        image_services.record_image_tag(repository, tag, info)
    return info


def refresh_image(uuid: str) -> None:
    """Pull a private image's known tags (and `latest`) with its credentials, and record their details."""
    image = Image.objects.select_related("owner").filter(uuid=uuid).first()
    if image is None:
        return
    auth = registry_auth(image.owner, image.name) if image.owner_id else None
    driver = driver_for(pick_node())
    for tag in sorted({"latest", *image.tags.values_list("name", flat=True)}):
        try:
            driver.pull(f"{image.name}:{tag}", auth)
            info = driver.inspect_image(f"{image.name}:{tag}")
        except NodeUnreachable:
            raise
        except DriverError as exc:
            logger.info("image %s:%s not pulled: %s", image.name, tag, exc)
            continue
        if info is not None:
            image_services.record_image_tag(image.name, tag, info)


@shared_task(
    name="orchestrator.refresh_image",
    acks_late=True,
    autoretry_for=(NodeUnreachable,),
    retry_backoff=2,
    max_retries=5,
)
def refresh_image_task(uuid: str) -> None:
    refresh_image(uuid)

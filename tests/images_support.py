"""The test registry (scripts/services.sh: Debian's docker-registry with htpasswd on 127.0.0.1:5000), the
spec's image shapes, and helpers that push a test image to the registry and look for leaked secrets."""

import docker
from django.conf import settings

REGISTRY = "127.0.0.1:5000"
USER_1, PASSWORD_1 = "tutum-test", "first-Secret-7f3a"
USER_2, PASSWORD_2 = "tutum-test2", "second-Secret-9c1e"
SECRETS = (PASSWORD_1, PASSWORD_2)
SOURCE_IMAGE = "local/httpd:latest"

# Key sets of the spec's examples ("List all images", "Get image details", "Add a new private image").
IMAGE_KEYS = {
    "base_image",
    "cluster_aware",
    "description",
    "docker_registry",
    "image_url",
    "imagetag_set",
    "is_private_image",
    "name",
    "public_url",
    "resource_uri",
    "starred",
}
TAG_KEYS = {"full_name", "image", "image_info", "name", "resource_uri"}
TAG_IMAGE_KEYS = {
    "author",
    "docker_id",
    "entrypoint",
    "image_creation",
    "imageenvvar_set",
    "imageport_set",
    "run_command",
}
REGISTRY_KEYS = {"host", "image_url", "is_tutum_registry", "name", "resource_uri", "uuid"}


def private_repository() -> str:
    return f"{REGISTRY}/{settings.TUTUM_INSTANCE}/private"


def push_private_image(client: docker.DockerClient) -> str:
    """Push local/httpd as <registry>/<instance>/private:latest with explicit credentials (no `docker login`,
    so no credentials file is written that a later anonymous pull could use), then drop the local tag."""
    repository = private_repository()
    client.images.get(SOURCE_IMAGE).tag(repository, "latest")
    output = client.images.push(repository, tag="latest", auth_config={"username": USER_1, "password": PASSWORD_1})
    assert '"Digest' in output or "digest:" in output, output[-500:]
    client.images.remove(f"{repository}:latest")
    return repository


def remove_image(client: docker.DockerClient, reference: str) -> None:
    try:
        client.images.remove(reference, force=True)
    except docker.errors.ImageNotFound:
        pass


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a registry password appears in {where}"

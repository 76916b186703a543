"""Resource URIs: the one place that knows how each resource is addressed."""

API_PREFIX = "/api/v1"


def application_uri(uuid) -> str:
    return f"{API_PREFIX}/application/{uuid}/"


def service_uri(uuid) -> str:
    return f"{API_PREFIX}/service/{uuid}/"


def stack_uri(uuid) -> str:
    return f"{API_PREFIX}/stack/{uuid}/"


def node_uri(uuid) -> str:
    return f"{API_PREFIX}/node/{uuid}/"


def action_uri(uuid) -> str:
    return f"{API_PREFIX}/action/{uuid}/"


def container_uri(uuid) -> str:
    return f"{API_PREFIX}/container/{uuid}/"


def image_uri(name: str) -> str:
    return f"{API_PREFIX}/image/{name}/"


def image_tag_uri(name: str, tag: str) -> str:
    return f"{API_PREFIX}/image/{name}/tag/{tag}/"


def registry_uri(host: str) -> str:
    return f"{API_PREFIX}/registry/{host}/"

"""Parsing of Docker image references such as `127.0.0.1:5000/team/app:1.0` or `tutum/hello-world`."""

import re
from dataclasses import dataclass

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?"
_REPOSITORY = rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_REFERENCE = re.compile(rf"^(?P<repository>{_REPOSITORY})(?::(?P<tag>{_TAG}))?$")
# For the OpenAPI schema's path parameters: what image names, tags and registry hosts look like.
REPOSITORY_PATTERN = rf"^{_REPOSITORY}$"
TAG_PATTERN = rf"^{_TAG}$"
HOST_PATTERN = rf"^{_HOST}$"

DEFAULT_REGISTRY = "index.docker.io"


@dataclass(frozen=True)
class ImageReference:
    repository: str
    tag: str

    @property
    def registry(self) -> str:
        first, sep, _ = self.repository.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return first
        return DEFAULT_REGISTRY

    @property
    def short_name(self) -> str:
        """The last path component: the default application name (`tutum/hello-world` -> `hello-world`)."""
        return self.repository.rsplit("/", 1)[-1]

    def __str__(self):
        return f"{self.repository}:{self.tag}"


def parse_image_reference(value: str) -> ImageReference | None:
    match = _REFERENCE.match(value.strip())
    if match is None or len(value) > 255:
        return None
    return ImageReference(match["repository"], match["tag"] or "latest")

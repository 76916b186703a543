"""A registry check for the schema conformance test's server that contacts nothing.

The real check (orchestrator.images.check_registry_login) logs in from a Docker node to whatever registry the
image name names; fuzzed names such as `quay.io/x` would reach the internet. This one accepts the one pair of
credentials below and refuses every other, so both answers of image add and update are exercised offline.
"""

from apps.images.services import RegistryLoginRefused

USERNAME, PASSWORD = "fuzz-user", "fuzz-password"


def login(registry: str, username: str, password: str) -> None:
    if (username, password) != (USERNAME, PASSWORD):
        raise RegistryLoginRefused("unauthorized: authentication required")

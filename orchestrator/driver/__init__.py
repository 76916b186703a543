from .base import (
    ContainerInfo,
    ContainerSpec,
    Driver,
    DriverError,
    EngineInfo,
    ImageInfo,
    NameConflict,
    NodeUnreachable,
    PortSpec,
    RegistryAuth,
)


def driver_for(node) -> Driver:
    from .docker import docker_driver

    return docker_driver(node.docker_host)


__all__ = [
    "ContainerInfo",
    "ContainerSpec",
    "Driver",
    "DriverError",
    "EngineInfo",
    "ImageInfo",
    "NameConflict",
    "NodeUnreachable",
    "PortSpec",
    "RegistryAuth",
    "driver_for",
]

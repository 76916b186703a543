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
    TlsMaterial,
)


def driver_for(node) -> Driver:
    """The driver of a node (any object with `docker_host` and `tls_pems()`: the CA, certificate and key
    in PEM, or None for an engine reached without TLS)."""
    from .docker import docker_driver

    pems = node.tls_pems()
    return docker_driver(node.docker_host, TlsMaterial(*pems) if pems else None)


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
    "TlsMaterial",
    "driver_for",
]

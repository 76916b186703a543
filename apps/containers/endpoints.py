"""How a container is reached, in the 2015 shape: its ports' endpoints, its links' endpoints, its volumes."""

from apps.core.uris import container_uri

from .choices import ContainerState
from .links import env_prefix

# The names Tutum gave well-known ports (IANA's service names); others have none.
WELL_KNOWN_PORTS = {
    (21, "tcp"): "ftp",
    (22, "tcp"): "ssh",
    (25, "tcp"): "smtp",
    (53, "tcp"): "domain",
    (53, "udp"): "domain",
    (80, "tcp"): "http",
    (443, "tcp"): "https",
    (3306, "tcp"): "mysql",
    (5432, "tcp"): "postgresql",
    (6379, "tcp"): "redis",
    (8080, "tcp"): "http",
    (11211, "tcp"): "memcache",
    (27017, "tcp"): "mongodb",
}
# A port named http or https is reached with that scheme; any other with its transport's (tcp://, udp://).
URI_SCHEMES = {"http": "http", "https": "https"}


def port_facts(inner_port: int, outer_port: int | None, protocol: str, public_dns: str) -> dict:
    """The 2015 keys of a container port: a port is published when it has a port on the node
    (`outer_port`), and then reached at `endpoint_uri`, e.g. `http://web-1-alice.localhost:32768/`."""
    port_name = WELL_KNOWN_PORTS.get((inner_port, protocol), "")
    scheme = URI_SCHEMES.get(port_name, protocol)
    return {
        "port_name": port_name,
        "uri_protocol": scheme,
        "endpoint_uri": f"{scheme}://{public_dns}:{outer_port}/" if outer_port is not None else None,
        "published": outer_port is not None,
    }


def linked_to_container(container) -> list[dict]:
    """Each live container of each service its service links to, with the addresses the link gave it.

    Reads `service.links_out` with `to_service.containers` prefetched (live ones, with `port_list`). A 2015
    link (with a name) reaches each container at its private address and inner ports, as `<NAME>_<n>`; a
    2014 one at its public name and published ports, under the container's own name (the link variables).
    """
    uri = container_uri(container.uuid)
    links = []
    for link in container.service.links_out.all():
        for target in link.to_service.containers.all():
            if target.state == ContainerState.TERMINATED:
                continue
            if link.name:
                name = f"{env_prefix(link.name)}_{target.number}"
                address = target.private_ip or target.public_dns
                endpoints = {
                    f"{p.inner_port}/{p.protocol}": f"{p.protocol}://{address}:{p.inner_port}" for p in target.port_list
                }
            else:
                name = env_prefix(target.unique_name)
                endpoints = {
                    f"{p.inner_port}/{p.protocol}": f"{p.protocol}://{target.public_dns}:{p.outer_port}"
                    for p in target.port_list
                    if p.outer_port is not None
                }
            links.append(
                {
                    "name": name,
                    "from_container": uri,
                    "to_container": container_uri(target.uuid),
                    "endpoints": endpoints,
                }
            )
    return links


def bindings(container) -> list[dict]:
    """The service's volumes at a path, as mounted in this container (a volume resource has no URI here)."""
    return [
        {
            "host_path": binding.host_path or None,
            "container_path": binding.container_path,
            "rewritable": binding.rewritable,
            "volume": None,
        }
        for binding in container.service.bindings.all()
        if binding.container_path
    ]

"""Link variables: how one container is described to the containers linked to it (design.md)."""


def env_prefix(unique_name: str) -> str:
    return unique_name.upper().replace("-", "_").replace(".", "_")


def link_variables(unique_name: str, public_dns: str, ports) -> dict[str, str]:
    """`ports` are (inner_port, outer_port, protocol) triples; ports not yet published are skipped."""
    prefix = env_prefix(unique_name)
    variables: dict[str, str] = {}
    for inner, outer, protocol in ports:
        if outer is None:
            continue
        url = f"{protocol}://{public_dns}:{outer}"
        base = f"{prefix}_PORT_{inner}_{protocol.upper()}"
        variables.setdefault(f"{prefix}_PORT", url)
        variables[base] = url
        variables[f"{base}_ADDR"] = public_dns
        variables[f"{base}_PORT"] = str(outer)
        variables[f"{base}_PROTO"] = protocol
    return variables


def container_link_variables(container, ports=None) -> dict[str, str]:
    """`ports`: the container's port rows if already at hand, else its (prefetched) `ports` are read."""
    rows = container.ports.all() if ports is None else ports
    triples = [(p.inner_port, p.outer_port, p.protocol) for p in rows]
    return link_variables(container.unique_name, container.public_dns, triples)

"""Link variables: how one container is described to the containers linked to it."""


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


def alias_link_variables(alias: str, service, containers) -> dict[str, str]:
    """The variables a 2015 link named `alias` gives, as Tutum documented them in 2015: each running container
    of `service` at its private address and inner ports, as `<ALIAS>_<n>_…`, the first also as `<ALIAS>_…`,
    with the linked service's own variables as `…_ENV_<VAR>`."""
    prefix = env_prefix(alias)
    environment = {e.key: e.value for e in service.envvars.all()}
    variables: dict[str, str] = {f"{prefix}_TUTUM_API_URL": service.service_api_url}
    for index, container in enumerate(containers):
        names = [f"{prefix}_{container.number}"] + ([prefix] if index == 0 else [])
        address = container.private_ip or container.public_dns
        for name in names:
            for port in container.ports.all():
                url = f"{port.protocol}://{address}:{port.inner_port}"
                base = f"{name}_PORT_{port.inner_port}_{port.protocol.upper()}"
                variables.setdefault(f"{name}_PORT", url)
                variables[base] = url
                variables[f"{base}_ADDR"] = address
                variables[f"{base}_PORT"] = str(port.inner_port)
                variables[f"{base}_PROTO"] = port.protocol
            for key, value in environment.items():
                variables[f"{name}_ENV_{key}"] = value
    return variables

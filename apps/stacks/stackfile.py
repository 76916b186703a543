"""The stack-file dialect (`tutum.yml`) as real files write it, translated into 2015 service fields.

A stack file is a map `name: {keys}`, or (as the CLI sends it) a list of those dicts with a `name` key.
`read_stack_file` turns each service into the keys of the 2015 service API and has them checked by the same
serializer as `POST /service/` (so a stack holds no rule the service face lacks, tenant safety included);
what it cannot resolve alone, `links` and `volumes_from`, it returns as references to services by name.
The service API's own names (`linked_to_service`, `container_ports`, ...) are read too, as Tutum's stack
documentation writes them. `export_service` is the way back: the dialect keys of a service as it is, which
read again give the same fields. Every error names the service and the key: `web: links: no service "db"`.
"""

import re
import shlex
from dataclasses import dataclass, field
from types import SimpleNamespace

from apps.services.api.serializers import ServiceWriteSerializer
from apps.services.choices import (
    AutodestroyPolicy,
    DeploymentStrategy,
    NetworkMode,
    PidMode,
    RecoveryPolicy,
    Role,
)

# Keys of compose files, or of older stack files, that the dialect does not have.
UNSUPPORTED = {
    "build": "building images is not supported; give an image",
    "external_links": "not supported; link to `svc.stack` or to a standalone service instead",
    "env_file": "not supported; list the variables under environment",
    "container_name": "not supported; the service's name is the key of its entry",
}
SIMPLE_STRINGS = ("cgroup_parent", "working_dir", "user", "hostname", "domainname", "mac_address", "cpuset")
BOOLEANS = ("autoredeploy", "sequential_deployment", "privileged", "read_only", "stdin_open", "tty")
STRING_LISTS = ("cap_add", "cap_drop", "devices", "extra_hosts", "security_opt")
# The service API's own names, which Tutum's stack documentation uses in its examples (`linked_to_service`
# with `to_service` names), accepted beside the dialect's: service API key -> the dialect key it stands for.
API_KEYS = {
    "run_command": "command",
    "container_ports": "ports",
    "container_envvars": "environment",
    "linked_to_service": "links",
    "bindings": "volumes",
    "memory": "mem_limit",
    "memory_swap": "memswap_limit",
}
KEYS = frozenset(
    {
        "name",
        "image",
        "command",
        "entrypoint",
        "environment",
        "labels",
        "links",
        "ports",
        "expose",
        "volumes",
        "volumes_from",
        "tags",
        "target_num_containers",
        "restart",
        "autorestart",
        "autodestroy",
        "deployment_strategy",
        "roles",
        "net",
        "pid",
        "dns",
        "dns_search",
        "cpu_shares",
        "mem_limit",
        "memswap_limit",
        *SIMPLE_STRINGS,
        *BOOLEANS,
        *STRING_LISTS,
        *API_KEYS,
    }
)
# Service field -> the dialect key it comes from, for the serializer's messages.
FIELD_KEYS = {
    "run_command": "command",
    "container_envvars": "environment",
    "container_ports": "ports",
    "bindings": "volumes",
    "memory": "mem_limit",
    "memory_swap": "memswap_limit",
    "linked_to_service": "links",
}
# The dialect's enum words (lower case, `-` or `_`) -> the service field's values.
RESTART = {"no": RecoveryPolicy.OFF, "off": RecoveryPolicy.OFF, "on_failure": RecoveryPolicy.ON_FAILURE}
RESTART["always"] = RecoveryPolicy.ALWAYS
AUTODESTROY = {"no": AutodestroyPolicy.OFF, "off": AutodestroyPolicy.OFF, "on_success": AutodestroyPolicy.ON_SUCCESS}
AUTODESTROY["always"] = AutodestroyPolicy.ALWAYS
STRATEGY = {s.value.lower(): s.value for s in DeploymentStrategy}
NET = {n.value: n.value for n in NetworkMode}
PID = {p.value: p.value for p in PidMode}
ROLES = {r.value: r.value for r in Role}
UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
MEMORY_PATTERN = re.compile(r"^\s*(\d+)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
PORT_PATTERN = re.compile(r"^(?:(?P<outer>\d+):)?(?P<inner>\d+)(?:/(?P<protocol>[A-Za-z]+))?$")
SERVICE_REF_PATTERN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9-]*)(?:\.(?P<stack>[A-Za-z0-9][A-Za-z0-9_.-]*))?$")


class StackFileError(Exception):
    """The file cannot be read; `errors` holds one `service: key: message` line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class _KeyError(Exception):
    """One key's value cannot mean anything (raised while reading that key)."""


@dataclass(frozen=True)
class ServiceRef:
    """A service named in `links` or `volumes_from`: a sibling (`stack` None or this stack's name), a service
    of another stack of the same user (`svc.stack`), or a standalone service of the user."""

    name: str
    stack: str | None = None

    def __str__(self):
        return f"{self.name}.{self.stack}" if self.stack else self.name


@dataclass
class ServiceDraft:
    """One service of the file: `fields` as `create_service` takes them, except `linked_to` and the
    `volumes_from` bindings, which need the services they name (`links`: (ref, alias); `volumes_from`: refs).
    `keys`: the dialect keys the file gave; fields of keys it left out are not in `fields`."""

    name: str
    fields: dict
    keys: frozenset
    links: list[tuple[ServiceRef, str]] = field(default_factory=list)
    volumes_from: list[ServiceRef] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def _entries(stack_file) -> list[tuple[str, dict]]:
    """(name, keys) of each service, from the list the CLI sends or from a map name -> keys."""
    if isinstance(stack_file, dict):
        items = []
        for name, keys in stack_file.items():
            if isinstance(keys, dict) and "name" in keys and keys["name"] != name:
                raise StackFileError([f"{name}: name: the entry of {name!r} names itself {keys['name']!r}"])
            items.append((name, keys))
    elif isinstance(stack_file, list):
        items = [(keys.get("name") if isinstance(keys, dict) else None, keys) for keys in stack_file]
    else:
        raise StackFileError(["services: expected a list of services or a map of service names to their keys"])
    errors, seen, result = [], set(), []
    for index, (name, keys) in enumerate(items):
        label = name if isinstance(name, str) and name else f"services[{index}]"
        if not isinstance(keys, dict):
            errors.append(f"{label}: expected a map of keys, got {_kind(keys)}")
            continue
        if not isinstance(name, str) or not name:
            errors.append(f"{label}: name: every service needs a name")
            continue
        if name.lower() in seen:
            errors.append(f"{name}: name: the file has two services named {name!r}")
            continue
        seen.add(name.lower())
        result.append((name, {k: v for k, v in keys.items() if k != "name"}))
    if errors:
        raise StackFileError(errors)
    return result


def _kind(value) -> str:
    from apps.core.fields import json_type

    return json_type(value)


def _string(value, key: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # `user: 1000`, `cpuset: 0` in YAML
    raise _KeyError(f"expected a string, got {_kind(value)}")


def _scalar_text(value) -> str:
    """An environment or label value as text, as YAML wrote it (`true`, `3`, empty for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _KeyError(f"a value must be a string, number or boolean, got {_kind(value)}")


def _string_list(value, key: str, single: bool = False) -> list[str]:
    if single and isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise _KeyError(f"expected a list{' or a string' if single else ''}, got {_kind(value)}")
    return [_string(item, key) for item in value]


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise _KeyError(f"expected true or false, got {_kind(value)} {value!r}")
    return value


def _enum(value, words: dict, spelled: str) -> str:
    """A value of `words` given in any case, with `-` or `_`; `spelled`: the documented words, for errors."""
    if value is False:  # YAML 1.1 reads an unquoted `no` as false
        value = "no"
    if not isinstance(value, str):
        raise _KeyError(f"expected one of {spelled}, got {_kind(value)}")
    word = value.strip().lower().replace("-", "_")
    if word not in words:
        raise _KeyError(f"{value!r} is not one of {spelled}")
    return words[word]


def _command(value) -> str:
    if isinstance(value, list):
        return shlex.join(_string(part, "") for part in value)
    return _string(value, "")


def _environment(value) -> list[dict]:
    if isinstance(value, str):  # a single `K=V` (seen in real files)
        value = [value]
    if isinstance(value, dict):
        pairs = [(_string(k, ""), _scalar_text(v)) for k, v in value.items()]
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if not isinstance(item, str):
                raise _KeyError(f"expected `KEY=value` strings, got {_kind(item)}")
            key, _, text = item.partition("=")
            # A bare `KEY` the CLI found no local value for is an empty variable.
            pairs.append((key, text))
    else:
        raise _KeyError(f"expected a list of `KEY=value` or a map, got {_kind(value)}")
    return [{"key": k, "value": v} for k, v in pairs]


def _labels(value) -> dict:
    if isinstance(value, dict):
        return {_string(k, ""): _scalar_text(v) for k, v in value.items()}
    if isinstance(value, list):
        labels = {}
        for item in value:
            key, _, text = _string(item, "").partition("=")
            labels[key] = text
        return labels
    raise _KeyError(f"expected a map or a list of `key=value`, got {_kind(value)}")


def _port_number(text: str, item) -> int:
    number = int(text)
    if not 1 <= number <= 65535:
        raise _KeyError(f"{item!r}: port {number} is out of range (1-65535)")
    return number


def _ports(value, published: bool) -> list[dict]:
    if not isinstance(value, list):
        raise _KeyError(f"expected a list, got {_kind(value)}")
    ports = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise _KeyError(f'expected strings such as "8080:80" or "53/udp", got {_kind(item)}')
        match = PORT_PATTERN.match(item.strip())
        if match is None:
            raise _KeyError(
                f'{item!r} is not a port: write "80", "8080:80", "53/udp" or "4500:4500/udp"'
                + (" (no address and no range)" if ":" in item or "-" in item else "")
            )
        if match["outer"] and not published:
            raise _KeyError(f"{item!r}: an exposed port has no outer port; publish it under ports")
        protocol = (match["protocol"] or "tcp").lower()
        if protocol not in ("tcp", "udp"):
            raise _KeyError(f"{item!r}: the protocol is tcp or udp")
        ports.append(
            {
                "inner_port": _port_number(match["inner"], item),
                "protocol": protocol,
                "outer_port": _port_number(match["outer"], item) if match["outer"] else None,
                "published": published,
            }
        )
    return ports


def _volumes(value) -> list[dict]:
    bindings = []
    for item in _string_list(value, "volumes"):
        parts = item.split(":")
        mode = "rw"
        if len(parts) == 3 or (len(parts) == 2 and parts[1] in ("ro", "rw")):
            mode = parts.pop()
            if mode not in ("ro", "rw"):
                raise _KeyError(f"{item!r}: the mode is ro or rw, not {mode!r}")
        if len(parts) == 1:
            host, container = "", parts[0]
        elif len(parts) == 2:
            host, container = parts
            if host.startswith((".", "~")):
                raise _KeyError(f"{item!r}: a path relative to the stack file means nothing on the server")
        else:
            raise _KeyError(f"{item!r} is not a volume: write /path, /host:/path, /host:/path:ro or name:/path")
        bindings.append({"host_path": host, "container_path": container, "rewritable": mode == "rw"})
    return bindings


def _memory_mb(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number, unit = value, "b"
    elif isinstance(value, str) and (match := MEMORY_PATTERN.match(value)):
        number, unit = int(match[1]), (match[2] or "b").lower()
    else:
        raise _KeyError(f"{value!r} is not an amount of memory such as 512m, 1g or a number of bytes")
    return -(-number * UNITS[unit] // 1024**2)  # whole MB, rounded up


def _ref(text, key: str) -> ServiceRef:
    if not isinstance(text, str) or not (match := SERVICE_REF_PATTERN.match(text.strip())):
        raise _KeyError(f"{text!r} is not a service name (`svc` or `svc.stack`)")
    return ServiceRef(match["name"], match["stack"])


def _links(value) -> list[tuple[ServiceRef, str]]:
    links = []
    for item in _string_list(value, "links"):
        target, _, alias = item.partition(":")
        ref = _ref(target, "links")
        links.append((ref, alias.strip() or ref.name))
    return links


def _objects(value, key: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _KeyError(f"expected a list of objects, got {_kind(value)}")
    return value


def _read_api_key(key: str, value, wire: dict, draft: ServiceDraft) -> None:
    """A service API key (API_KEYS): as POST /service/ takes it, links and volumes_from given by name."""
    if key == "run_command":
        wire[key] = _command(value)
    elif key in ("memory", "memory_swap"):
        wire[key] = value
    elif key == "linked_to_service":
        for link in _objects(value, key):
            ref = _ref(link.get("to_service"), key)
            alias = link.get("name") or ref.name
            draft.links.append((ref, _string(alias, key)))
    elif key == "bindings":
        for binding in _objects(value, key):
            if binding.get("volumes_from"):
                draft.volumes_from.append(_ref(binding["volumes_from"], key))
            else:
                wire.setdefault("bindings", []).append({k: v for k, v in binding.items() if k != "volumes_from"})
    else:  # container_ports, container_envvars
        wire.setdefault(key, []).extend(_objects(value, key))


def _read_key(key: str, value, wire: dict, draft: ServiceDraft) -> None:
    """Put what `key: value` means into `wire` (service API keys) or the draft's references."""
    if key in API_KEYS:
        _read_api_key(key, value, wire, draft)
    elif key == "image":
        if not isinstance(value, str):
            raise _KeyError(f"expected a string such as tutum/hello-world:latest, got {_kind(value)}")
        wire["image"] = value
    elif key == "command":
        wire["run_command"] = _command(value)
    elif key == "entrypoint":
        wire["entrypoint"] = _command(value)
    elif key == "environment":
        wire["container_envvars"] = _environment(value)
    elif key == "labels":
        wire["labels"] = _labels(value)
    elif key == "links":
        draft.links = _links(value)
    elif key in ("ports", "expose"):
        wire.setdefault("container_ports", []).extend(_ports(value, published=key == "ports"))
    elif key == "volumes":
        wire["bindings"] = _volumes(value)
    elif key == "volumes_from":
        draft.volumes_from = [_ref(item, key) for item in _string_list(value, key)]
    elif key == "tags":
        tags = (
            [tag.get("name") if isinstance(tag, dict) else tag for tag in value] if isinstance(value, list) else value
        )
        wire["tags"] = [{"name": tag} for tag in _string_list(tags, key)]
    elif key == "target_num_containers":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _KeyError(f"expected an integer, got {_kind(value)}")
        wire[key] = value
    elif key in ("restart", "autorestart"):
        wire["autorestart"] = _enum(value, RESTART, "no, on-failure, always")
    elif key == "autodestroy":
        wire["autodestroy"] = _enum(value, AUTODESTROY, "no, on-success, always")
    elif key == "deployment_strategy":
        wire[key] = _enum(value, STRATEGY, "emptiest_node, high_availability, every_node")
    elif key == "roles":
        wire["roles"] = [_enum(role, ROLES, "global") for role in _string_list(value, key, single=True)]
    elif key == "net":
        wire["net"] = _enum(value, NET, "bridge, host")
    elif key == "pid":
        wire["pid"] = _enum(value, PID, "none, host")
    elif key in ("dns", "dns_search"):
        wire[key] = _string_list(value, key, single=True)
    elif key in BOOLEANS:
        wire[key] = _boolean(value)
    elif key in STRING_LISTS:
        wire[key] = _string_list(value, key)
    elif key in SIMPLE_STRINGS:
        wire[key] = _string(value, key)
    elif key == "cpu_shares":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _KeyError(f"expected an integer, got {_kind(value)}")
        wire[key] = value
    elif key == "mem_limit":
        wire["memory"] = _memory_mb(value)
    elif key == "memswap_limit":
        wire["memory_swap"] = -1 if value == -1 else _memory_mb(value)


def _messages(detail, path: str = "") -> list[tuple[str, str]]:
    """(field, message) for every message of a serializer's error detail."""
    if isinstance(detail, dict):
        return [pair for key, value in detail.items() for pair in _messages(value, path or str(key))]
    if isinstance(detail, list):
        return [pair for value in detail for pair in _messages(value, path)]
    return [(path, str(detail))]


def _dialect_key(field_name: str, keys: dict) -> str:
    """The key of the file a service field's error belongs to."""
    if field_name in keys:
        return field_name
    if field_name == "autorestart":
        return "autorestart" if "autorestart" in keys and "restart" not in keys else "restart"
    if field_name == "container_ports" and "ports" not in keys:
        return "expose"
    return FIELD_KEYS.get(field_name, field_name)


def read_service(name: str, keys: dict, owner) -> ServiceDraft:
    """One service's keys, translated and checked; raises StackFileError naming the service and the keys."""
    errors: list[str] = []
    draft = ServiceDraft(name=name, fields={}, keys=frozenset(keys))
    wire: dict = {"name": name}
    if "restart" in keys and "autorestart" in keys:
        errors.append(f"{name}: autorestart: the older name of restart; give one of them")
    for api_key, dialect_key in API_KEYS.items():
        if api_key in keys and dialect_key in keys:
            errors.append(f"{name}: {api_key}: the service API's name for {dialect_key}; give one of them")
    if "container_ports" in keys and "expose" in keys:
        errors.append(f"{name}: container_ports: give the ports either so or under ports and expose")
    for key, value in keys.items():
        if key in UNSUPPORTED:
            errors.append(f"{name}: {key}: {UNSUPPORTED[key]}")
        elif key not in KEYS:
            errors.append(f"{name}: {key}: not a key of the stack file")
        else:
            try:
                _read_key(key, value, wire, draft)
            except _KeyError as exc:
                errors.append(f"{name}: {key}: {exc}")
    if "image" not in keys:
        errors.append(f"{name}: image: every service needs an image")
    if errors:
        raise StackFileError(errors)
    ports = wire.get("container_ports")
    if ports and "container_ports" not in keys:  # (given in the service API's form, the serializer checks them)
        # A port both published and exposed is published (compose files often list it twice).
        published = {(p["inner_port"], p["protocol"]) for p in ports if p["published"]}
        wire["container_ports"] = [
            p for p in ports if p["published"] or (p["inner_port"], p["protocol"]) not in published
        ]
    serializer = ServiceWriteSerializer(data=wire, context={"request": SimpleNamespace(user=owner)})
    if not serializer.is_valid():
        raise StackFileError(
            [f"{name}: {_dialect_key(f, keys)}: {message}" for f, message in _messages(serializer.errors)]
        )
    draft.fields = serializer.service_data()
    return draft


def read_stack_file(stack_file, owner) -> list[ServiceDraft]:
    """Every service of the file, or StackFileError with every problem of every service."""
    drafts, errors = [], []
    for name, keys in _entries(stack_file):
        try:
            drafts.append(read_service(name, keys, owner))
        except StackFileError as exc:
            errors.extend(exc.errors)
    if errors:
        raise StackFileError(errors)
    return drafts


# ---------------------------------------------------------------- exporting


def _port_text(port) -> str:
    text = f"{port.outer_port}:{port.inner_port}" if port.outer_port else str(port.inner_port)
    return text if port.protocol == "tcp" else f"{text}/{port.protocol}"


def _ref_text(target, stack) -> str:
    """How the file names `target` from a service of `stack`: by its name within the same stack."""
    if target.stack_id and (stack is None or target.stack_id != stack.pk):
        return f"{target.name}.{target.stack.name}"
    return target.name


def _link_text(link, stack) -> str:
    alias = link.name if link.name and link.name != link.to_service.name else ""
    return _ref_text(link.to_service, stack) + (f":{alias}" if alias else "")


def export_service(service, stack=None) -> dict:
    """The dialect keys of a service as it is (those that differ from the defaults). Reading them back
    with `read_service` gives the fields the service has. Needs `ports`, `envvars`, `bindings` and
    `links_out` (with `to_service__stack`) prefetched for a constant number of queries."""
    keys: dict = {"image": service.image_name}
    if service.run_command:
        keys["command"] = service.run_command
    if service.entrypoint:
        keys["entrypoint"] = service.entrypoint
    envvars = list(service.envvars.all())
    if envvars:
        keys["environment"] = {e.key: e.value for e in envvars}
    if service.labels:
        keys["labels"] = dict(service.labels)
    links = list(service.links_out.all())
    if links:
        keys["links"] = [
            _ref_text(link.to_service, stack)
            + (f":{link.name}" if link.name and link.name != link.to_service.name else "")
            for link in links
        ]
    ports = list(service.ports.all())
    if any(p.published for p in ports):
        keys["ports"] = [_port_text(p) for p in ports if p.published]
    if any(not p.published for p in ports):
        keys["expose"] = [_port_text(p) for p in ports if not p.published]
    volumes, volumes_from = [], []
    for binding in service.bindings.all():
        if binding.volumes_from_id:
            volumes_from.append(_ref_text(binding.volumes_from, stack))
        elif binding.host_path:
            volumes.append(f"{binding.host_path}:{binding.container_path}" + ("" if binding.rewritable else ":ro"))
        else:
            volumes.append(binding.container_path)
    if volumes:
        keys["volumes"] = volumes
    if volumes_from:
        keys["volumes_from"] = volumes_from
    if service.tags:
        keys["tags"] = list(service.tags)
    if service.target_num_containers != 1:
        keys["target_num_containers"] = service.target_num_containers
    if service.autorestart != RecoveryPolicy.OFF:
        keys["restart"] = service.autorestart.lower().replace("_", "-")
    if service.autodestroy != AutodestroyPolicy.OFF:
        keys["autodestroy"] = service.autodestroy.lower().replace("_", "-")
    if service.deployment_strategy != DeploymentStrategy.EMPTIEST_NODE:
        keys["deployment_strategy"] = service.deployment_strategy.lower()
    if service.roles:
        keys["roles"] = list(service.roles)
    if service.net != NetworkMode.BRIDGE:
        keys["net"] = service.net
    if service.pid != PidMode.NONE:
        keys["pid"] = service.pid
    for key in ("dns", "dns_search", *STRING_LISTS):
        if getattr(service, key):
            keys[key] = list(getattr(service, key))
    for key in (*BOOLEANS, *SIMPLE_STRINGS):
        if getattr(service, key):
            keys[key] = getattr(service, key)
    if service.cpu_shares is not None:
        keys["cpu_shares"] = service.cpu_shares
    if service.memory is not None:
        keys["mem_limit"] = f"{service.memory}m"
    if service.memory_swap is not None:
        keys["memswap_limit"] = -1 if service.memory_swap == -1 else f"{service.memory_swap}m"
    return keys

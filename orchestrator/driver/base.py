"""The Docker driver interface: plain dataclasses in and out, so nothing else needs to know docker-py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

LABEL_INSTANCE = "tutum.instance"
LABEL_CONTAINER = "tutum.container"
LABEL_SERVICE = "tutum.service"
LABEL_GENERATION = "tutum.generation"


class DriverError(Exception):
    """Docker refused or failed; the message is fit to show a user (exit_code_msg)."""


class NodeUnreachable(DriverError):
    """The engine did not answer; the work should be retried later, not failed."""


class NameConflict(DriverError):
    """A container with that name already exists."""


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class PortSpec:
    inner_port: int
    protocol: str = "tcp"
    # Published on the node's address, on `outer_port` or a free port when None; else only exposed.
    published: bool = True
    outer_port: int | None = None


@dataclass(frozen=True)
class Mount:
    """`source` is a host path (starts with /), a volume name, or empty for a new anonymous volume."""

    target: str
    source: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    labels: dict[str, str]
    env: dict[str, str] = field(repr=False)
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    ports: tuple[PortSpec, ...] = ()
    publish_address: str = "127.0.0.1"
    memory_mb: int | None = None
    memory_swap_mb: int | None = None
    cpu_shares: int | None = None
    cpuset: str = ""
    auth: RegistryAuth | None = None
    mounts: tuple[Mount, ...] = ()
    volumes_from: tuple[str, ...] = ()
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    working_dir: str = ""
    mac_address: str = ""
    cgroup_parent: str = ""
    tty: bool = False
    stdin_open: bool = False
    privileged: bool = False
    read_only: bool = False
    network_mode: str = ""
    pid_mode: str = ""
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    labels: dict[str, str]
    running: bool
    status: str
    exit_code: int | None
    error: str = ""
    oom_killed: bool = False
    published: dict[tuple[int, str], int] = field(default_factory=dict)
    ip_address: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Its Docker volumes (named or anonymous), which a redeploy may hand to the container replacing it.
    volumes: tuple[Mount, ...] = ()


@dataclass(frozen=True)
class ImageInfo:
    id: str
    author: str
    created: datetime | None
    env: dict[str, str]
    ports: tuple[PortSpec, ...]
    command: list[str]
    entrypoint: list[str]


@dataclass(frozen=True)
class EngineInfo:
    """What an engine says about itself (`docker info`): the facts a node shows."""

    docker_version: str
    graph_driver: str
    exec_driver: str
    cpus: int
    memory_mb: int
    # GB of the storage driver's data space, when the driver tells (devicemapper); otherwise None.
    disk_gb: int | None = None


@dataclass(frozen=True)
class ContainerEvent:
    container_id: str
    action: str
    labels: dict[str, str]
    exit_code: int | None = None


class LogStream(Protocol):
    """A container's log as `(stream, line, timestamp)`: "stdout" or "stderr", the line with its newline, and
    when Docker wrote it (epoch seconds). Iterating blocks for the next line when following; `close()`, from
    any thread, ends the iteration."""

    def __iter__(self) -> Iterator[tuple[str, str, float]]: ...
    def close(self) -> None: ...


class ExecSession(Protocol):
    """A process started in a running container with its stdin open. `output()` yields `(stream, bytes)`
    until the process ends; `exit_code()` is then its code. `close()`, from any thread, ends the session."""

    def write(self, data: bytes) -> None: ...
    def close_stdin(self) -> None: ...
    def output(self) -> Iterator[tuple[str, bytes]]: ...
    def exit_code(self) -> int | None: ...
    def close(self) -> None: ...


class Driver(Protocol):
    """One Docker engine. Every method is idempotent where Docker allows it: stopping a stopped
    container and removing a missing one succeed."""

    def ping(self) -> None: ...
    def info(self) -> EngineInfo: ...
    def create(self, spec: ContainerSpec) -> str: ...
    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout: int) -> None: ...
    # `volumes`: also remove its anonymous volumes (not when a redeploy hands them to the next container).
    def remove(self, container_id: str, volumes: bool = True) -> None: ...
    def inspect(self, container_id: str) -> ContainerInfo | None: ...
    def list(self, labels: dict[str, str]) -> list[ContainerInfo]: ...
    def logs(self, container_id: str) -> str: ...
    def pull(self, image: str, auth: RegistryAuth | None = None) -> None: ...
    def inspect_image(self, image: str) -> ImageInfo | None: ...
    def images(self) -> list[str]: ...
    # Checks credentials against the registry now, never from a cache; DriverError with its reason if refused.
    def login(self, registry: str, username: str, password: str) -> None: ...
    def events(self, labels: dict[str, str]) -> Iterator[ContainerEvent]: ...
    # The last `tail` lines (all when None), then, with `follow`, new ones as Docker writes them until the
    # container stops; `since` (epoch seconds) leaves out what was written before it.
    def logs_stream(
        self, container_id: str, tail: int | None, follow: bool, since: float | None = None
    ) -> LogStream: ...
    # `command` in the running container, stdin attached; with `tty`, on a terminal (output is all stdout).
    def exec_session(self, container_id: str, command: list[str], tty: bool = False) -> ExecSession: ...


@dataclass(frozen=True, repr=False)
class TlsMaterial:
    """A TLS engine's CA and client certificate and key, in PEM. Never in a repr or a log line."""

    ca: str
    cert: str
    key: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\0".join((self.ca, self.cert, self.key)).encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"TlsMaterial({self.fingerprint})"

"""The docker-py implementation of the driver. The only module that imports docker."""

import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import docker
import requests
from docker import errors as docker_errors
from docker.utils import socket as docker_socket
from urllib3.exceptions import ProtocolError as ProtocolErrors

from .base import (
    ContainerEvent,
    ContainerInfo,
    ContainerSpec,
    DriverError,
    EngineInfo,
    ImageInfo,
    Mount,
    NameConflict,
    NodeUnreachable,
    PortSpec,
    RegistryAuth,
    TlsMaterial,
)


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-01-01"):
        return None
    # Docker prints nanoseconds; Python keeps microseconds.
    head, _, rest = value.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    text = f"{head}.{fraction or '0'}+00:00" if not head.endswith("Z") else head[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _split_image(image: str) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag


_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15}


def _size_gb(text: str | None) -> int | None:
    """GB of a size as `docker info` prints it ("107.4 GB", "1.1TB"); None when absent or unreadable."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgtp]?b)\s*", (text or "").lower())
    if match is None:
        return None
    try:
        return round(float(match[1]) * _SIZE_UNITS[match[2]] / 10**9)
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, docker_errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)


class _EngineClient(docker.APIClient):
    """docker-py's client, except that an engine's TLS certificate is checked against the CA given for it:
    requests would otherwise check it against the bundle in REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE when set
    (a request-level setting that overrides the session's). A DockerClient is this plus its `api`."""

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str):
            merged["verify"] = self.verify
        return merged


class DockerDriver:
    def __init__(self, base_url: str, timeout: int = 60, tls: "docker.tls.TLSConfig | None" = None):
        self.base_url = base_url
        self.tls = tls
        try:
            # Asks the engine for its API version: an engine that is down fails here already.
            self.client = docker.DockerClient.__new__(docker.DockerClient)
            self.client.api = _EngineClient(base_url=base_url, timeout=timeout, tls=tls or False)
        except docker_errors.DockerException as exc:
            raise NodeUnreachable(f"Docker engine at {base_url} is unreachable: {exc}") from exc
        self.api = self.client.api

    def _api_client(self, **kwargs) -> docker.APIClient:
        """Another low-level client to the same engine, with the same certificates."""
        return _EngineClient(base_url=self.base_url, tls=self.tls or False, **kwargs)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise NodeUnreachable(f"Docker engine at {self.base_url} is unreachable: {exc}") from exc
        except docker_errors.APIError as exc:
            if exc.status_code == 409 and "already in use" in _reason(exc):
                raise NameConflict(_reason(exc)) from exc
            raise DriverError(_reason(exc)) from exc
        except docker_errors.DockerException as exc:
            raise DriverError(str(exc)) from exc

    def ping(self) -> None:
        self._call(self.api.ping)

    def info(self) -> EngineInfo:
        """The engine's version, storage and execution drivers, CPUs and memory; NodeUnreachable if it is down."""
        data = self._call(self.api.info)
        status = dict(tuple(pair[:2]) for pair in data.get("DriverStatus") or () if len(pair) >= 2)
        return EngineInfo(
            docker_version=data.get("ServerVersion") or "",
            graph_driver=data.get("Driver") or "",
            # Engines since 1.11 have no execution driver (they run containers through a runtime, runc).
            exec_driver=data.get("ExecutionDriver") or data.get("DefaultRuntime") or "",
            cpus=int(data.get("NCPU") or 0),
            memory_mb=int(data.get("MemTotal") or 0) // (1024 * 1024),
            disk_gb=_size_gb(status.get("Data Space Total")),
        )

    def create(self, spec: ContainerSpec) -> str:
        host_network = spec.network_mode == "host"
        port_bindings = {
            f"{p.inner_port}/{p.protocol}": (spec.publish_address, p.outer_port)
            for p in spec.ports
            if p.published and not host_network
        }
        binds = [f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts if m.source]
        host_config = self.api.create_host_config(
            port_bindings=port_bindings,
            binds=binds or None,
            volumes_from=list(spec.volumes_from) or None,
            mem_limit=f"{spec.memory_mb}m" if spec.memory_mb else None,
            memswap_limit=(
                -1 if spec.memory_swap_mb == -1 else f"{spec.memory_swap_mb}m" if spec.memory_swap_mb else None
            ),
            cpu_shares=spec.cpu_shares,
            cpuset_cpus=spec.cpuset or None,
            restart_policy={"Name": "no"},
            privileged=spec.privileged,
            read_only=spec.read_only or None,
            network_mode=spec.network_mode or None,
            pid_mode=spec.pid_mode or None,
            dns=list(spec.dns) or None,
            dns_search=list(spec.dns_search) or None,
            cap_add=list(spec.cap_add) or None,
            cap_drop=list(spec.cap_drop) or None,
            devices=list(spec.devices) or None,
            extra_hosts=list(spec.extra_hosts) or None,
            security_opt=list(spec.security_opt) or None,
            cgroup_parent=spec.cgroup_parent or None,
        )
        result = self._call(
            self.api.create_container,
            image=spec.image,
            name=spec.name,
            command=spec.command or None,
            entrypoint=spec.entrypoint or None,
            environment=spec.env,
            labels=spec.labels,
            ports=[(p.inner_port, p.protocol) for p in spec.ports],
            volumes=[m.target for m in spec.mounts] or None,
            host_config=host_config,
            hostname=spec.hostname or None,
            domainname=spec.domainname or None,
            user=spec.user or None,
            working_dir=spec.working_dir or None,
            mac_address=spec.mac_address or None,
            tty=spec.tty,
            stdin_open=spec.stdin_open,
            detach=True,
        )
        return result["Id"]

    def start(self, container_id: str) -> None:
        self._call(self.api.start, container_id)

    def stop(self, container_id: str, timeout: int) -> None:
        try:
            self._call(self.api.stop, container_id, timeout=timeout)
        except DriverError as exc:
            if "No such container" not in str(exc):
                raise

    def remove(self, container_id: str, volumes: bool = True) -> None:
        try:
            self._call(self.api.remove_container, container_id, force=True, v=volumes)
        except DriverError as exc:
            message = str(exc)
            if "No such container" not in message and "already in progress" not in message:
                raise

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            data = self._call(self.api.inspect_container, container_id)
        except DriverError as exc:
            if "No such container" in str(exc):
                return None
            raise
        return self._info(data)

    def list(self, labels: dict[str, str]) -> list[ContainerInfo]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        summaries = self._call(self.api.containers, all=True, filters=filters)
        infos = []
        for summary in summaries:
            info = self.inspect(summary["Id"])
            if info is not None:
                infos.append(info)
        return infos

    def logs(self, container_id: str) -> str:
        try:
            raw = self._call(self.api.logs, container_id, stdout=True, stderr=True, timestamps=False)
        except DriverError as exc:
            if "No such container" in str(exc):
                return ""
            raise
        return raw.decode("utf-8", errors="replace")

    def pull(self, image: str, auth: RegistryAuth | None = None) -> None:
        repository, tag = _split_image(image)
        # An empty auth_config, not None: docker-py would otherwise fall back to credentials cached in the
        # shared client or found in ~/.docker/config.json, i.e. someone else's.
        auth_config = {"username": auth.username, "password": auth.password} if auth else {}
        self._call(self.api.pull, repository, tag=tag, auth_config=auth_config)

    def login(self, registry: str, username: str, password: str) -> None:
        # A throwaway client: docker-py keeps accepted credentials in the client, and the shared one
        # must never pull with a user's credentials that were not given for that pull.
        client = self._api_client(timeout=self.api.timeout)
        try:
            address = "https://index.docker.io/v1/" if registry == "index.docker.io" else registry
            self._call(client.login, username, password, registry=address, reauth=True)
        finally:
            client.close()

    def images(self) -> "list[str]":  # `list` is a method name in this class body
        """Every `repository:tag` on the engine (untagged images left out)."""
        summaries = self._call(self.api.images)
        return sorted({tag for s in summaries for tag in s.get("RepoTags") or [] if not tag.startswith("<none>")})

    def inspect_image(self, image: str) -> ImageInfo | None:
        try:
            data = self._call(self.api.inspect_image, image)
        except DriverError as exc:
            if "No such image" in str(exc) or "not found" in str(exc).lower():
                return None
            raise
        config = data.get("Config") or {}
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in config.get("Env") or [])
        ports = tuple(
            PortSpec(int(key.split("/")[0]), key.split("/")[1] if "/" in key else "tcp")
            for key in sorted(config.get("ExposedPorts") or {})
        )
        return ImageInfo(
            id=data["Id"].removeprefix("sha256:"),
            author=data.get("Author") or "",
            created=_parse_time(data.get("Created")),
            env=env,
            ports=ports,
            command=list(config.get("Cmd") or []),
            entrypoint=list(config.get("Entrypoint") or []),
        )

    def events(self, labels: dict[str, str]) -> Iterator[ContainerEvent]:
        """Container events of our containers, as they happen; ends (or raises NodeUnreachable) when the
        connection to the engine drops. Uses its own client: the stream holds a connection forever."""
        client = self._api_client(timeout=None)
        filters = {"type": "container", "label": [f"{k}={v}" for k, v in labels.items()]}
        try:
            for event in client.events(decode=True, filters=filters):
                attributes = (event.get("Actor") or {}).get("Attributes") or {}
                exit_code = attributes.get("exitCode")
                yield ContainerEvent(
                    container_id=event.get("id", ""),
                    action=(event.get("Action") or event.get("status") or "").split(":")[0],
                    labels={k: v for k, v in attributes.items() if k.startswith("tutum.")},
                    exit_code=int(exit_code) if exit_code not in (None, "") else None,
                )
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise NodeUnreachable(f"lost the event stream of {self.base_url}: {exc}") from exc
        finally:
            client.close()

    def _stream_client(self):
        """A client of its own for a stream that holds its connection (no timeout, never back in a pool).
        The shared client's API version is reused, so making it costs no request."""
        return self._api_client(version=self.api.api_version, timeout=None)

    def logs_stream(self, container_id: str, tail: int | None, follow: bool, since: float | None = None):
        """Raises DriverError (or NodeUnreachable) when Docker refuses, e.g. for a missing container."""
        client = self._stream_client()
        try:
            tty = bool(((self._call(client.inspect_container, container_id).get("Config")) or {}).get("Tty"))
            params = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(follow)}
            params["tail"] = "all" if tail is None else tail
            if since:
                params["since"] = f"{since:.9f}"
            url = client._url("/containers/{0}/logs", container_id)
            response = self._call(client._get, url, params=params, stream=True)
            self._call(client._raise_for_status, response)
        except BaseException:
            client.close()
            raise
        return _DockerLogStream(client, response, tty)

    def exec_session(self, container_id: str, command: "list[str]", tty: bool = False):
        client = self._stream_client()
        try:
            created = self._call(
                client.exec_create, container_id, command, stdin=True, stdout=True, stderr=True, tty=tty
            )
            sock = self._call(client.exec_start, created["Id"], tty=tty, socket=True)
        except BaseException:
            client.close()
            raise
        return _DockerExecSession(client, created["Id"], sock, tty)

    @staticmethod
    def _info(data: dict) -> ContainerInfo:
        state = data.get("State") or {}
        published = {}
        for key, bindings in ((data.get("NetworkSettings") or {}).get("Ports") or {}).items():
            if bindings:
                inner, _, protocol = key.partition("/")
                published[(int(inner), protocol or "tcp")] = int(bindings[0]["HostPort"])
        network = data.get("NetworkSettings") or {}
        addresses = [n.get("IPAddress") for n in (network.get("Networks") or {}).values() if n.get("IPAddress")]
        return ContainerInfo(
            id=data["Id"],
            ip_address=network.get("IPAddress") or (addresses[0] if addresses else ""),
            name=data.get("Name", "").lstrip("/"),
            labels=(data.get("Config") or {}).get("Labels") or {},
            running=bool(state.get("Running")),
            status=state.get("Status", ""),
            exit_code=state.get("ExitCode"),
            error=state.get("Error") or "",
            oom_killed=bool(state.get("OOMKilled")),
            published=published,
            started_at=_parse_time(state.get("StartedAt")),
            finished_at=_parse_time(state.get("FinishedAt")),
            volumes=tuple(
                Mount(target=m["Destination"], source=m["Name"], read_only=not m.get("RW", True))
                for m in data.get("Mounts") or ()
                if m.get("Type") == "volume" and m.get("Name")
            ),
        )


def _parse_log_time(text: bytes) -> float:
    """Epoch seconds of Docker's RFC 3339 timestamp with nanoseconds (`2026-12-01T20:30:00.123456789Z`)."""
    moment = _parse_time(text.decode("ascii", errors="replace"))
    return moment.timestamp() if moment else 0.0


def _raw_socket(sock):
    """The socket under what docker-py hands out (a SocketIO for plain connections)."""
    return getattr(sock, "_sock", sock)


def _shutdown(sock, how) -> None:
    raw = _raw_socket(sock)
    if raw is None:  # the response has ended and closed it
        return
    try:
        raw.shutdown(how)
    except OSError:  # already closed or never connected
        pass


class _DockerLogStream:
    """The engine's multiplexed log stream (8-byte frame headers: stream, length), or raw lines for a
    container with a terminal."""

    def __init__(self, client, response, tty: bool):
        self._client = client
        self._response = response
        self._tty = tty
        self._sock = client._get_raw_response_socket(response)
        client._disable_socket_timeout(self._sock)
        self._closed = False

    def _frames(self) -> Iterator[tuple[str, bytes]]:
        raw = self._response.raw
        if self._tty:
            for line in self._response.iter_lines(chunk_size=1, delimiter=b"\n"):
                yield "stdout", line + b"\n"
            return
        while True:
            header = raw.read(8)
            if len(header) < 8:
                return
            kind, length = header[0], int.from_bytes(header[4:8], "big")
            data = raw.read(length) if length else b""
            if length and not data:
                return
            yield ("stderr" if kind == 2 else "stdout"), data

    def __iter__(self) -> Iterator[tuple[str, str, float]]:
        try:
            for stream, data in self._frames():
                # One frame is one message Docker logged: its timestamp, a space, the line.
                stamp, _, line = data.partition(b" ")
                yield stream, line.decode("utf-8", errors="replace"), _parse_log_time(stamp)
        except (OSError, ValueError, AttributeError, requests.exceptions.RequestException, ProtocolErrors):
            if not self._closed:
                raise NodeUnreachable("lost the log stream of the engine") from None
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _shutdown(self._sock, socket.SHUT_RDWR)
        self._response.close()
        self._client.close()


class _DockerExecSession:
    def __init__(self, client, exec_id: str, sock, tty: bool):
        self._client = client
        self._exec_id = exec_id
        self._sock = sock
        self._tty = tty
        self._closed = False
        client._disable_socket_timeout(sock)

    def write(self, data: bytes) -> None:
        try:
            _raw_socket(self._sock).sendall(data)
        except OSError as exc:
            raise DriverError(f"the process no longer reads its input: {exc}") from exc

    def close_stdin(self) -> None:
        _shutdown(self._sock, socket.SHUT_WR)

    def output(self) -> Iterator[tuple[str, bytes]]:
        try:
            for kind, data in docker_socket.frames_iter(self._sock, self._tty):
                yield ("stderr" if kind == docker_socket.STDERR else "stdout"), data
        except OSError:
            if not self._closed:
                raise NodeUnreachable("lost the connection to the process") from None

    def exit_code(self) -> int | None:
        """The process's exit code, once Docker has seen it end (a moment after its output closed)."""
        for attempt in range(100):
            data = self._call_inspect()
            if data is None or not data.get("Running"):
                return None if data is None else data.get("ExitCode")
            time.sleep(0.005 if attempt < 20 else 0.05)
        return None

    def _call_inspect(self) -> dict | None:
        try:
            return self._client.exec_inspect(self._exec_id)
        except (docker_errors.DockerException, requests.exceptions.RequestException):
            return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _shutdown(self._sock, socket.SHUT_RDWR)
        try:
            self._sock.close()
        finally:
            self._client.close()


_drivers: dict[tuple[str, str], DockerDriver] = {}
_drivers_lock = threading.Lock()


def _tls_config(tls: TlsMaterial) -> docker.tls.TLSConfig:
    """docker-py reads certificates from files: the PEMs go to a directory only this user can read, one
    per set of certificates, for the life of the process."""
    directory = os.path.join(tempfile.gettempdir(), f"tutum-tls-{os.getuid()}-{tls.fingerprint}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    paths = {}
    for name, pem in (("ca.pem", tls.ca), ("cert.pem", tls.cert), ("key.pem", tls.key)):
        path = paths[name] = os.path.join(directory, name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(pem)
    return docker.tls.TLSConfig(client_cert=(paths["cert.pem"], paths["key.pem"]), ca_cert=paths["ca.pem"], verify=True)


def docker_driver(base_url: str, tls: TlsMaterial | None = None, timeout: int = 60) -> DockerDriver:
    """One client per engine (and set of certificates) and process; docker-py's client is safe to share
    between threads. A TLS engine is reached over https with the client certificate, checked against the CA."""
    key = (base_url, tls.fingerprint if tls else "")
    with _drivers_lock:
        if key not in _drivers:
            _drivers[key] = DockerDriver(base_url, timeout=timeout, tls=_tls_config(tls) if tls else None)
        return _drivers[key]


def probe(base_url: str, tls: TlsMaterial | None = None, timeout: int = 5) -> EngineInfo:
    """The engine's facts on a fresh client (not cached): registration checks an engine with it.
    Raises NodeUnreachable saying why (no answer, a refused certificate)."""
    driver = None
    try:
        driver = DockerDriver(base_url, timeout=timeout, tls=_tls_config(tls) if tls else None)
        return driver.info()
    except DriverError:
        raise
    except Exception as exc:  # a certificate the ssl module cannot load, a malformed address
        raise NodeUnreachable(f"Docker engine at {base_url} is unreachable: {exc}") from exc
    finally:
        if driver is not None:
            driver.client.close()

"""The final official Tutum clients of 2015, unmodified, driven as subprocesses under Python 2.7.

scripts/final-clients.sh installs the CLI `tutum` 0.21.1 (on its own pinned SDK 0.21.1) and the SDK
`python-tutum` 0.21.2 into var/final-clients/<hash>/. This module runs them the way a user of late 2015 did:
TUTUM_REST_HOST, TUTUM_USER and TUTUM_APIKEY in the environment, and a HOME of their own, so that no ~/.tutum
of whoever runs the tests is read (`tutum login` writes one there).

    clients = FinalClients.install()          # once per session (the script reuses what is there)
    cli = clients.cli(url, "alice", key, home=tmp_path)
    result = cli("service", "ps")             # Result: returncode, stdout, stderr; never raises on exit codes
    out = cli.ok("service", "ps")             # stdout, asserting exit code 0 and an empty stderr
    data = cli.sdk_json("import tutum, json; print(json.dumps([s.uuid for s in tutum.Service.list()]))")

Exit codes of the CLI: 0 success; 3 a handled error (`commands.EXCEPTION_EXIT_CODE`, the message on stderr:
an API error, ObjectNotFound, and also any AttributeError/KeyError/TypeError raised while it reads a
response); 1 an unhandled traceback (e.g. `GET /api/v1/auth/` answering anything but 2xx or 401); 2 argparse.
"""

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "final-clients.sh"
CLI_VERSION = "0.21.1"
SDK_VERSION = "0.21.2"
# What the CLI sends as User-Agent: its own name, then its pinned SDK's.
CLI_USER_AGENT = f"tutum-cli/{CLI_VERSION} python-tutum/{CLI_VERSION}"
SDK_USER_AGENT = f"python-tutum/{SDK_VERSION}"


@dataclass
class Result:
    args: tuple
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"{' '.join(self.args)} exited {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


class FinalClients:
    """The folder scripts/final-clients.sh installed, as the KEY=VALUE lines it printed."""

    def __init__(self, info: dict[str, str]):
        self.info = info
        self.dir = Path(info["FINAL_CLIENTS_DIR"])
        self.tutum = info["FINAL_CLIENTS_CLI"]  # sh wrapper: PYTHONPATH=cli python2.7 cli/bin/tutum
        self.python_sdk = info["FINAL_CLIENTS_SDK_PYTHON"]  # sh wrapper: PYTHONPATH=sdk python2.7

    @classmethod
    def install(cls, timeout: int = 900) -> "FinalClients":
        result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"scripts/final-clients.sh failed:\n{result.stdout}\n{result.stderr}"
        info = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        return cls(info)

    def cli(self, url: str, user: str | None, apikey: str | None, home: Path, **extra_env) -> "Cli":
        """The CLI and the SDK pointed at `url` (http://127.0.0.1:PORT) with these credentials. Either may be
        None (left unset); `extra_env` adds or overrides variables (e.g. TUTUM_PASS, TUTUM_AUTH)."""
        return Cli(self, client_env(url, user, apikey, home, **extra_env))


def client_env(url: str, user: str | None, apikey: str | None, home: Path, **extra) -> dict[str, str]:
    """Only what the clients read, built from scratch: no proxy variables (requests would honour them, even
    for 127.0.0.1), no TUTUM_* of the caller, and the stream host on the same loopback server, so that nothing
    ever goes to the real tutum.co (the SDK's defaults)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    url = url.rstrip("/")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TUTUM_REST_HOST": url,
        "TUTUM_STREAM_HOST": "ws" + url[len("http") :],
    }
    if user is not None:
        env["TUTUM_USER"] = user
    if apikey is not None:
        env["TUTUM_APIKEY"] = apikey
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


class Cli:
    """`cli("service", "ps")` runs `tutum service ps`; `cli.sdk(code)` runs a Python 2.7 script with the SDK."""

    def __init__(self, clients: FinalClients, env: dict[str, str], timeout: int = 180):
        self.clients = clients
        self.env = env
        self.timeout = timeout
        self.key: str | None = None  # set by the final_cli fixture
        self.password: str | None = None

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    def with_env(self, env: dict[str, str]) -> "Cli":
        """The same clients with another environment (e.g. without TUTUM_APIKEY, or with TUTUM_AUTH)."""
        other = Cli(self.clients, dict(env), self.timeout)
        other.key, other.password = self.key, self.password
        return other

    def __call__(self, *args: str, input: str = "", timeout: int | None = None) -> Result:
        # stdin is empty (not inherited): a CLI that prompts for a login reads EOF instead of hanging.
        proc = subprocess.run(
            [self.clients.tutum, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
            cwd=self.env["HOME"],
        )
        return Result(("tutum", *args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: int | None = None) -> str:
        result = self(*args, timeout=timeout)
        assert result.returncode == 0 and result.stderr == "", result.describe()
        return result.stdout

    def sdk(self, code: str, timeout: int | None = None) -> Result:
        proc = subprocess.run(
            [self.clients.python_sdk, "-c", textwrap.dedent(code)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
            cwd=self.env["HOME"],
            stdin=subprocess.DEVNULL,
        )
        return Result(("python2.7 -c <sdk script>",), proc.returncode, proc.stdout, proc.stderr)

    def sdk_json(self, code: str, timeout: int | None = None):
        """Run an SDK script that prints one JSON document as its last line of output; return it."""
        result = self.sdk(code, timeout=timeout)
        assert result.returncode == 0, result.describe()
        lines = result.stdout.strip().splitlines()
        assert lines, result.describe()
        return json.loads(lines[-1])


@pytest.fixture(scope="session")
def final_clients() -> FinalClients:
    """The final clients, installed (or reused) by scripts/final-clients.sh; a clean CI checkout gets them so."""
    return FinalClients.install()


@pytest.fixture
def final_cli(final_clients, live_server, settings, user, tmp_path) -> Cli:
    """The final CLI and SDK against pytest-django's live server (the API over real HTTP on the test
    database) as alice with a fresh API key; `final_cli.key` is that key, `final_cli.password` her password."""
    from apps.accounts.models import ApiKey

    settings.TUTUM_API_URL = live_server.url
    _, key = ApiKey.issue(user)
    cli = final_clients.cli(live_server.url, user.username, key, home=tmp_path / "home")
    cli.key = key
    cli.password = "secret-password"  # the `user` fixture's (tests/conftest.py)
    return cli

"""The official Tutum clients of 2014, unchanged but for their Python 3 conversion, against this server.

scripts/official-clients.sh builds the CLI `tutum` 0.7.5.1 and the SDK `python-tutum` 0.7.5 into
var/clients/venv. The tests run them as subprocesses against pytest-django's `live_server` (the API over
real HTTP on the test database) with a real worker on the local Docker engine, the way a user of 2014 would:
TUTUM_BASE_URL, TUTUM_USER and TUTUM_APIKEY in the environment. They assert on what the CLI prints and on the
server's state through the API and Docker.
"""

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from apps.accounts.models import ApiKey
from orchestrator.driver.base import LABEL_GENERATION, LABEL_SERVICE

from .helpers import wait_for, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "secret-password"  # the `user` fixture's password
# Says hello once (for the logs), then idles; exits 0 on SIGTERM, so a stop is clean (`Stopped`, not
# `Stopped with errors`) within the workers' 2 s stop timeout.
RUN_COMMAND = """sh -c 'trap "exit 0" TERM; echo hello from $GREETING; while true; do sleep 1; done'"""


@pytest.fixture(scope="session")
def clients_venv():
    """Build (or reuse) the converted official clients; CI gets them from a clean checkout this way."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "official-clients.sh")], capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, f"scripts/official-clients.sh failed:\n{result.stdout}\n{result.stderr}"
    venv = Path(result.stdout.strip().splitlines()[-1])
    assert (venv / "bin" / "tutum").exists()
    return venv


@pytest.fixture
def client_env(live_server, settings, user, tmp_path):
    """The environment the official clients read, pointing at the live server as alice with a fresh key."""
    settings.TUTUM_API_URL = live_server.url
    _, key = ApiKey.issue(user)
    # HOME is empty so that a ~/.tutum of whoever runs the tests cannot take precedence over the variables.
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TUTUM_BASE_URL": f"{live_server.url}/api/v1/",
        "TUTUM_USER": user.username,
        "TUTUM_APIKEY": key,
    }


class Cli:
    def __init__(self, venv: Path, env: dict):
        self.executable = str(venv / "bin" / "tutum")
        self.env = env

    def run(self, *args, expect_rc=0):
        result = subprocess.run([self.executable, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == expect_rc, (
            f"tutum {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result

    def __call__(self, *args):
        result = self.run(*args)
        assert result.stderr == "", f"tutum {' '.join(args)} wrote to stderr:\n{result.stderr}"
        return result.stdout


@pytest.fixture
def cli(clients_venv, client_env):
    return Cli(clients_venv, client_env)


def table(output: str) -> list[dict]:
    """The rows of a table the CLI printed with tabulate's `plain` format, keyed by header. Columns are
    separated by runs of at least two positions blank on every line (numbers are right-aligned)."""
    lines = [line for line in output.splitlines() if line.strip()]
    width = max(len(line) for line in lines)
    lines = [line.ljust(width) for line in lines]
    blank = [all(line[i] == " " for line in lines) for i in range(width)] + [True, True]
    bounds, start, i = [], 0, 0
    while i < width:
        if blank[i] and blank[i + 1]:
            end = i
            while i < width and blank[i]:
                i += 1
            bounds.append((start, end))
            start = i
        else:
            i += 1
    if start < width:
        bounds.append((start, width))
    names = [lines[0][a:b].strip() for a, b in bounds]
    return [{name: line[a:b].strip() for name, (a, b) in zip(names, bounds, strict=True)} for line in lines[1:]]


def short_uuid_shown(cell: str, uuid: str) -> bool:
    """Whether a table cell shows `uuid` shortened to 8 characters. tabulate, the CLI's table printer, reads
    a short uuid such as `00012345` or `19e27600` as a number and prints it as one (`12345`, `inf`)."""
    short = uuid[:8]
    try:
        return float(cell) == float(short)
    except ValueError:
        return cell == short


def sdk(venv: Path, env: dict, code: str) -> dict:
    """Run `code` with the converted SDK in its own virtualenv; it prints one JSON document."""
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"SDK script failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)


def _docker(docker_client, application_uuid) -> dict[str, dict]:
    """The application's Docker containers by name, from one list call: no per-container inspect, which a
    container removed meanwhile (scale down, redeploy) would answer with 404."""
    summaries = docker_client.api.containers(all=True, filters={"label": f"{LABEL_SERVICE}={application_uuid}"})
    return {s["Names"][0].lstrip("/"): s for s in summaries}


def _docker_states(docker_client, application_uuid) -> dict[str, str]:
    return {name: s["State"] for name, s in _docker(docker_client, application_uuid).items()}


def _generations(docker_client, application_uuid) -> set[str]:
    return {s["Labels"][LABEL_GENERATION] for s in _docker(docker_client, application_uuid).values()}


def _docker_name(unique_name: str) -> str:
    return f"{django_settings.TUTUM_INSTANCE}-{unique_name}-alice"


def test_cli_drives_an_application_through_its_whole_life(worker, docker_client, cli, api):
    # An empty account: the table has its headers and one blank row.
    listing = cli("cluster", "ps")
    assert listing.split() == ["NAME", "UUID", "STATUS", "IMAGE", "SIZE", "(#)", "DEPLOYED", "WEB", "HOSTNAME"]

    # Create with two containers; the CLI saves (POST) and at once starts it (POST .../start/).
    out = cli(
        "cluster", "run", "-n", "sleeper", "-t", "2", "-r", RUN_COMMAND, "-e", "GREETING=the-official-cli",
        "local/busybox",
    )  # fmt: skip
    uuid = out.strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid), out
    uri = f"/api/v1/application/{uuid}/"
    app = wait_for_state(api, uri, "Running")
    assert app["name"] == app["unique_name"] == "sleeper"
    assert app["run_command"] == RUN_COMMAND
    assert app["container_size"] == "XS"
    assert [(e["key"], e["value"]) for e in app["container_envvars"]] == [("GREETING", "the-official-cli")]
    assert app["running_num_containers"] == 2
    assert set(_docker_states(docker_client, uuid).items()) == {
        (_docker_name("sleeper-1"), "running"),
        (_docker_name("sleeper-2"), "running"),
    }

    (row,) = table(cli("cluster", "ps"))
    assert row["NAME"] == "sleeper"
    assert short_uuid_shown(row["UUID"], uuid), row
    assert row["STATUS"] == "▶ Running"
    assert row["IMAGE"] == app["image_name"] == "local/busybox:latest"
    assert row["SIZE (#)"] == "XS (2)"
    assert re.fullmatch(r"(\d+ \w+ )?ago", row["DEPLOYED"]), row  # e.g. "3 seconds ago", humanized by the CLI
    assert cli("cluster", "ps", "-q").split() == [uuid]
    assert table(cli("cluster", "ps", "-s", "Stopped")) == []  # the headers and a blank row: nothing stopped

    # Its containers, looked up by the application's name and by its short uuid.
    rows = table(cli("container", "ps", "-i", "sleeper"))
    assert [(r["NAME"], r["STATUS"], r["IMAGE"], r["RUN COMMAND"], r["SIZE"]) for r in rows] == [
        ("sleeper-1", "▶ Running", "local/busybox:latest", RUN_COMMAND, "XS"),
        ("sleeper-2", "▶ Running", "local/busybox:latest", RUN_COMMAND, "XS"),
    ]
    assert [r["NAME"] for r in table(cli("container", "ps", "-i", uuid[:8]))] == ["sleeper-1", "sleeper-2"]
    assert [r["NAME"] for r in table(cli("container", "ps", "-i", uuid))] == ["sleeper-1", "sleeper-2"]
    container_uuids = cli("container", "ps", "-i", "sleeper", "-q").split()
    assert sorted(container_uuids) == sorted(api.get(c).json()["uuid"] for c in app["containers"])

    inspected = json.loads(cli("cluster", "inspect", "sleeper"))
    assert inspected["uuid"] == uuid
    assert inspected["state"] == "Running"
    assert len(inspected["containers"]) == 2

    # Scale to three: the CLI fetches it and PATCHes target_num_containers.
    assert cli("cluster", "scale", "sleeper", "3").strip() == uuid
    app = wait_for(
        lambda: (a := api.get(uri).json())["state"] == "Running" and a["running_num_containers"] == 3 and a,
        message="three running containers",
    )
    assert app["target_num_containers"] == 3
    assert _docker_states(docker_client, uuid)[_docker_name("sleeper-3")] == "running"
    rows = table(cli("container", "ps", "-i", "sleeper"))
    assert [(r["NAME"], r["STATUS"]) for r in rows] == [(f"sleeper-{n}", "▶ Running") for n in (1, 2, 3)]

    # Logs of one container (by its name) and of the whole application (each line prefixed).
    logs = wait_for(
        lambda: "hello from the-official-cli" in (out := cli("container", "logs", "sleeper-2")) and out,
        message="the container's output in its logs",
    )
    assert logs.strip() == "hello from the-official-cli"
    logs = wait_for(
        lambda: (out := cli("cluster", "logs", "sleeper")).count("hello") == 3 and out,
        message="three containers' output in the application's logs",
    )
    assert sorted(logs.strip().splitlines()) == [f"sleeper-{n} | hello from the-official-cli" for n in (1, 2, 3)]

    # Stop, start, terminate, each reaching its final state in the API and in Docker.
    assert cli("cluster", "stop", uuid[:8]).strip() == uuid
    app = wait_for_state(api, uri, "Stopped")
    assert app["running_num_containers"] == 0
    assert app["stopped_num_containers"] == 3
    assert set(_docker_states(docker_client, uuid).values()) == {"exited"}
    (row,) = table(cli("cluster", "ps", "-s", "Stopped"))
    assert (row["NAME"], row["STATUS"]) == ("sleeper", "◼ Stopped")

    assert cli("cluster", "start", "sleeper").strip() == uuid
    app = wait_for_state(api, uri, "Running")
    assert app["running_num_containers"] == 3
    assert set(_docker_states(docker_client, uuid).values()) == {"running"}

    assert cli("cluster", "terminate", "sleeper").strip() == uuid
    app = wait_for_state(api, uri, "Terminated")
    assert app["destroyed_datetime"] is not None
    wait_for(lambda: _docker_states(docker_client, uuid) == {}, message="the Docker containers to be removed")
    for container_uri in app["containers"]:
        assert api.get(container_uri).json()["state"] == "Terminated"
    # A terminated application stays readable by uuid.
    assert json.loads(cli("cluster", "inspect", uuid))["state"] == "Terminated"


def test_cli_controls_single_containers(worker, docker_client, cli, api):
    uuid = cli("cluster", "run", "-n", "pair", "-t", "2", "-r", RUN_COMMAND, "-e", "GREETING=x", "local/busybox")
    uuid = uuid.strip()
    uri = f"/api/v1/application/{uuid}/"
    wait_for_state(api, uri, "Running")
    first = api.get("/api/v1/container/", {"unique_name": "pair-1"}).json()["objects"][0]

    # By name, by short uuid, by long uuid: the CLI resolves each through the list filters.
    assert cli("container", "stop", "pair-1").strip() == first["uuid"]
    wait_for_state(api, first["resource_uri"], "Stopped")
    assert _docker_states(docker_client, uuid)[_docker_name("pair-1")] == "exited"
    assert wait_for_state(api, uri, "Partly running")["running_num_containers"] == 1
    rows = {r["NAME"]: r["STATUS"] for r in table(cli("container", "ps", "-i", "pair"))}
    assert rows == {"pair-1": "◼ Stopped", "pair-2": "▶ Running"}
    assert [r["NAME"] for r in table(cli("container", "ps", "-s", "Stopped"))] == ["pair-1"]

    assert cli("container", "start", first["uuid"][:8]).strip() == first["uuid"]
    wait_for_state(api, first["resource_uri"], "Running")
    assert _docker_states(docker_client, uuid)[_docker_name("pair-1")] == "running"
    wait_for_state(api, uri, "Running")

    inspected = json.loads(cli("container", "inspect", first["uuid"]))
    assert (inspected["unique_name"], inspected["state"]) == ("pair-1", "Running")

    assert cli("container", "terminate", first["uuid"]).strip() == first["uuid"]
    wait_for_state(api, first["resource_uri"], "Terminated")
    wait_for(lambda: _docker_name("pair-1") not in _docker_states(docker_client, uuid), message="pair-1 removed")

    # A name nobody has: the CLI reports it and exits 3.
    missing = cli.run("container", "stop", "no-such-container", expect_rc=3)
    assert "Cannot find a container with the identifier 'no-such-container'" in missing.stderr

    assert cli("cluster", "terminate", uuid).strip() == uuid
    wait_for_state(api, uri, "Terminated")
    wait_for(lambda: _docker_states(docker_client, uuid) == {}, message="the Docker containers to be removed")


def test_cli_settings_alias_ports_and_redeploy(worker, docker_client, cli, api):
    uuid = cli("cluster", "run", "-n", "web", "-t", "2", "-p", "80/tcp", "-r", RUN_COMMAND, "local/busybox").strip()
    uri = f"/api/v1/application/{uuid}/"
    app = wait_for_state(api, uri, "Running")
    assert app["container_ports"] == [{"application": uri, "inner_port": 80, "outer_port": None, "protocol": "tcp"}]

    # The PORTS column: <container public_dns>:<outer port>-><inner port>/<protocol>.
    rows = table(cli("container", "ps", "-i", "web"))
    for row in rows:
        container = api.get("/api/v1/container/", {"unique_name": row["NAME"]}).json()["objects"][0]
        (port,) = container["container_ports"]
        assert row["PORTS"] == f"{row['NAME']}-alice.localhost:{port['outer_port']}->80/tcp"

    # `cluster set` PATCHes the crash-recovery settings it was given (unchanged values are not sent).
    assert cli("cluster", "set", "--autorestart", "ALWAYS", "--autodestroy", "ON_FAILURE", "web").strip() == uuid
    app = api.get(uri).json()
    assert (app["autorestart"], app["autoreplace"], app["autodestroy"]) == ("ALWAYS", "OFF", "ON_FAILURE")

    # `cluster alias` PATCHes web_public_dns; `cluster ps` shows it as the web hostname.
    assert cli("cluster", "alias", "web", "www.example.com").strip() == uuid
    assert api.get(uri).json()["web_public_dns"] == "www.example.com"
    (row,) = table(cli("cluster", "ps"))
    assert (row["NAME"], row["WEB HOSTNAME"]) == ("web", "www.example.com")

    # `cluster redeploy` POSTs {"tag": null}, then {"tag": "latest"}: every container is replaced, names kept.
    before = {name: s["Id"] for name, s in _docker(docker_client, uuid).items()}
    assert cli("cluster", "redeploy", "web").strip() == uuid
    wait_for(lambda: _generations(docker_client, uuid) == {"2"}, message="containers of generation 2")
    app = wait_for_state(api, uri, "Running")
    after = {name: s["Id"] for name, s in _docker(docker_client, uuid).items()}
    assert sorted(after) == sorted(before) == [_docker_name("web-1"), _docker_name("web-2")]
    assert not set(after.values()) & set(before.values())
    assert cli("cluster", "redeploy", "-t", "latest", "web").strip() == uuid
    wait_for(lambda: _generations(docker_client, uuid) == {"3"}, message="containers of generation 3")
    app = wait_for_state(api, uri, "Running")
    assert (app["target_num_containers"], app["running_num_containers"]) == (2, 2)

    assert cli("cluster", "terminate", "web").strip() == uuid
    wait_for_state(api, uri, "Terminated")


def test_sdk_login_with_password_then_works_with_the_issued_key(clients_venv, client_env, user):
    env = {k: v for k, v in client_env.items() if k not in ("TUTUM_USER", "TUTUM_APIKEY")}
    result = sdk(
        clients_venv,
        env,
        f"""
        import json
        import tutum

        assert not tutum.auth.is_authenticated()
        try:
            tutum.auth.authenticate("alice", "wrong-password")
            refused = None
        except tutum.TutumAuthError as exc:
            refused = str(exc)
        tutum.auth.authenticate("alice", {PASSWORD!r})
        print(json.dumps({{
            "refused": refused,
            "authenticated": tutum.auth.is_authenticated(),
            "user": tutum.user,
            "apikey": tutum.apikey,
            "clusters": [c.uuid for c in tutum.Cluster.list()],
            "containers": [c.uuid for c in tutum.Container.list()],
        }}))
        """,
    )
    assert result["refused"] == "Not authorized"
    assert result["authenticated"] is True
    assert result["user"] == "alice"
    assert ApiKey.objects.filter(user=user, name="auth endpoint").count() == 1
    assert ApiKey.find_active("alice", result["apikey"]) is not None
    assert result["clusters"] == [] and result["containers"] == []


def test_sdk_objects_follow_an_application(worker, docker_client, clients_venv, client_env, api):
    result = sdk(
        clients_venv,
        client_env,
        f"""
        import json
        import time
        import tutum

        def settle(obj, state):
            for _ in range(300):
                obj.refresh()
                if obj.state == state:
                    return
                time.sleep(0.2)
            raise SystemExit("%s never became %s (now %s)" % (obj.uuid, state, obj.state))

        envvars = [{{"key": "GREETING", "value": "sdk"}}]
        cluster = tutum.Cluster.create(image="local/busybox", name="sdk", target_num_containers=2,
                                       run_command={RUN_COMMAND!r}, container_envvars=envvars)
        assert cluster.save()
        assert cluster.start()
        settle(cluster, "Running")
        containers = tutum.Container.list(application__uuid=cluster.uuid)
        same = tutum.Container.list(application__name="sdk")
        first = tutum.Container.fetch(containers[0].uuid)
        for _ in range(100):
            if first.logs:
                break
            time.sleep(0.2)
        logs = first.logs
        assert first.stop()
        settle(first, "Stopped")
        settle(cluster, "Partly running")
        assert first.start()
        settle(first, "Running")
        settle(cluster, "Running")
        assert cluster.delete()
        settle(cluster, "Terminated")
        print(json.dumps({{
            "uuid": cluster.uuid,
            "containers": sorted(c.unique_name for c in containers),
            "same": sorted(c.unique_name for c in same),
            "logs": logs,
            "state": cluster.state,
        }}))
        """,
    )
    assert result["containers"] == result["same"] == ["sdk-1", "sdk-2"]
    assert result["logs"].strip() == "hello from sdk"
    assert result["state"] == "Terminated"
    assert api.get(f"/api/v1/application/{result['uuid']}/").json()["state"] == "Terminated"
    wait_for(lambda: _docker_states(docker_client, result["uuid"]) == {}, message="the Docker containers removed")

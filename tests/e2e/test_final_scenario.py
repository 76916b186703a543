"""The everyday scenario of the final 2015 clients (the `tutum` CLI 0.21.1 and the `python-tutum` SDK 0.21.2,
unmodified, on Python 2.7) against a live server with a real worker and engine, step by step as the services
issue lists it. docs/wire-2015.md is the checklist of what each step sends and reads.

Each step is judged three ways: what the CLI prints (its exit code, stdout, stderr), the server's state (the
2015 API, read in-process with the `api` fixture) and Docker's (the containers labelled with the service's
uuid).

Readings of our own where Tutum's December 2015 documentation is silent:
- Docker names follow the 2014 scheme (`<instance>-<container unique name>-<user>`); containers are `web-1`..
- A container's `name` is its service's name, as the 2014 API shows it (one object for both generations);
  the CLI finds `web-1` through the `name` filter, which also matches a container's unique name.
- `calculated_envvars` lists the image's ENV (local/httpd: SERVER=busybox-httpd) with origin "image".
- Action names are "Service Start", "Service Scale", ... (the documentation's example "Service Scale").
"""

import json
import re

import pytest
import requests
from django.conf import settings

from .final_clients import final_cli, final_clients  # noqa: F401 (fixtures)
from .helpers import wait_for, wait_for_state
from .lifecycle_helpers import docker_containers, docker_env
from .test_official_clients import short_uuid_shown, table

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
AGO = re.compile(r"(\d+ \w+ )?ago")  # the CLI's humanized datetimes ("3 seconds ago"); RFC 2822 on the wire
# local/httpd under a second tag, for `service set --image`; one per test instance, which removes it after.
SECOND_TAG = f"local/httpd:final-{settings.TUTUM_INSTANCE}"
# Exits 0 on SIGTERM, so a stop is clean (`Stopped`) within the workers' 2 s stop timeout.
CLEAN_STOP = """sh -c 'trap "exit 0" TERM; echo hello from $GREETING; while true; do sleep 1; done'"""


@pytest.fixture
def second_tag(docker_client):
    docker_client.images.get("local/httpd:latest").tag(SECOND_TAG)
    yield SECOND_TAG
    docker_client.images.remove(SECOND_TAG)


def ok_sync(cli, *args) -> str:
    """Run a `--sync` command: it prints the action's states as it polls (every 4 s), then the uuid."""
    out = cli.ok(*args)
    *progress, uuid = out.strip().splitlines()
    assert UUID.fullmatch(uuid), out
    assert progress and progress[-1].rstrip(".") == "Success", out
    return uuid


def docker_by_name(docker_client, service_uuid) -> dict:
    return {c.name: c for c in docker_containers(docker_client, service_uuid)}


def docker_states(docker_client, service_uuid) -> dict[str, str]:
    return {name: c.status for name, c in docker_by_name(docker_client, service_uuid).items()}


def dname(name: str) -> str:
    return f"{settings.TUTUM_INSTANCE}-{name}-alice"


def running(api, uri, count):
    return wait_for(
        lambda: (s := api.get(uri).json())["state"] == "Running" and s["current_num_containers"] == count and s,
        timeout=90,
        message=f"{uri} Running with {count} containers",
    )


def test_final_cli_everyday_scenario(worker, docker_client, api, final_cli, live_server, second_tag):  # noqa: F811
    cli = final_cli

    # -- service run -t 2 -p 80 -e K=V --name web local/httpd: POST /service/, then POST …/start/.
    uuid = cli.ok("service", "run", "-t", "2", "-p", "80", "-e", "K=V", "--name", "web", "local/httpd").strip()
    assert UUID.fullmatch(uuid)
    uri = f"/api/v1/service/{uuid}/"
    service = running(api, uri, 2)
    assert (service["name"], service["image_name"], service["target_num_containers"]) == (
        "web",
        "local/httpd:latest",
        2,
    )
    assert [(e["key"], e["value"]) for e in service["container_envvars"]] == [("K", "V")]
    (port,) = service["container_ports"]
    assert (port["inner_port"], port["protocol"], port["published"]) == (80, "tcp", True)  # ints on the way out
    assert docker_states(docker_client, uuid) == {dname("web-1"): "running", dname("web-2"): "running"}
    for container in docker_by_name(docker_client, uuid).values():
        assert docker_env(container)["K"] == "V"
        host_port = container.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        assert wait_for(lambda p=host_port: _answers(f"http://127.0.0.1:{p}/"), timeout=10, message="httpd answers")

    # -- service ps: GET /service/, GET /stack/.
    (row,) = table(cli.ok("service", "ps"))
    assert (row["NAME"], row["STATUS"], row["#CONTAINERS"], row["IMAGE"]) == (
        "web",
        "▶ Running",
        "2",
        "local/httpd:latest",
    )
    assert short_uuid_shown(row["UUID"], uuid), row
    assert AGO.fullmatch(row["DEPLOYED"]), row
    assert row["STACK"] == ""
    assert cli.ok("service", "ps", "-q").split() == [uuid]
    assert table(cli.ok("service", "ps", "-s", "Stopped")) == []

    # -- service inspect (by name, short uuid, uuid): the detail as JSON, plus the SDK's tutum_action_uri.
    for identifier in ("web", uuid[:8], uuid):
        inspected = json.loads(cli.ok("service", "inspect", identifier))
        assert (inspected["uuid"], inspected["state"], inspected["resource_uri"]) == (uuid, "Running", uri)
        assert len(inspected["containers"]) == 2

    # -- service scale web 3 --sync: PATCH {"target_num_containers": 3}, POST …/scale/, poll the action.
    assert ok_sync(cli, "service", "scale", "web", "3", "--sync") == uuid
    service = api.get(uri).json()  # --sync returned: the action is Success, so the service is there already
    assert (service["state"], service["target_num_containers"], service["current_num_containers"]) == ("Running", 3, 3)
    assert set(docker_states(docker_client, uuid).values()) == {"running"}
    assert dname("web-3") in docker_states(docker_client, uuid)

    # -- service stop --sync, service start --sync.
    assert ok_sync(cli, "service", "stop", "web", "--sync") == uuid
    assert api.get(uri).json()["state"] == "Stopped"
    assert set(docker_states(docker_client, uuid).values()) == {"exited"}
    (row,) = table(cli.ok("service", "ps"))
    assert row["STATUS"] == "◼ Stopped"
    assert ok_sync(cli, "service", "start", "web", "--sync") == uuid
    assert api.get(uri).json()["state"] == "Running"
    assert set(docker_states(docker_client, uuid).values()) == {"running"}

    # -- service set --image X --redeploy --sync: PATCH {"image": X} (poll its action), POST …/redeploy/.
    before = {n: c.id for n, c in docker_by_name(docker_client, uuid).items()}
    out = cli.ok("service", "set", "--image", second_tag, "--redeploy", "--sync", "web")
    assert "Redeploying Service ..." in out and out.strip().splitlines()[-1] == uuid, out
    service = running(api, uri, 3)
    assert (service["image_name"], service["synchronized"]) == (second_tag, True)
    after = docker_by_name(docker_client, uuid)
    assert sorted(after) == sorted(before)  # same names, new containers, the new image
    assert not {c.id for c in after.values()} & set(before.values())
    assert {c.attrs["Config"]["Image"] for c in after.values()} == {second_tag}

    # -- service redeploy --sync: every container replaced again.
    before = {c.id for c in docker_by_name(docker_client, uuid).values()}
    assert ok_sync(cli, "service", "redeploy", "--sync", "web") == uuid
    running(api, uri, 3)
    assert not {c.id for c in docker_by_name(docker_client, uuid).values()} & before

    # -- service env list: calculated_envvars, one row per variable with its origin.
    rows = {(r["ORIGIN"], r["KEY"], r["VALUE"]) for r in table(cli.ok("service", "env", "list", "web"))}
    assert ("user", "K", "V") in rows
    assert ("image", "SERVER", "busybox-httpd") in rows
    assert cli.ok("service", "env", "list", "--user", "-q", "web").split() == ["K=V"]

    # -- container ps [--service web]: GET /container/[?service=<uri>], GET /stack/, /service/, /node/.
    (node,) = api.get("/api/v1/node/").json()["objects"]
    for args in (("container", "ps"), ("container", "ps", "--service", "web")):
        rows = table(cli.ok(*args))
        assert [(r["NAME"], r["STATUS"], r["IMAGE"]) for r in rows] == [("web", "▶ Running", second_tag)] * 3
        assert {r["NODE"] for r in rows} == {node["uuid"][:8]}
    for r in table(cli.ok("container", "ps", "--service", "web", "--no-trunc")):
        container = api.get(f"/api/v1/container/{r['UUID']}/").json()
        (port,) = container["container_ports"]
        assert r["PORTS"] == f"{container['public_dns']}:{port['outer_port']}->80/tcp"
        docker_name = dname(container["unique_name"])
        host_port = docker_client.containers.get(docker_name).attrs["NetworkSettings"]["Ports"]["80/tcp"][0]
        assert int(host_port["HostPort"]) == port["outer_port"]

    # -- container inspect / stop / start / redeploy / terminate, by name and by short uuid.
    first = json.loads(cli.ok("container", "inspect", "web-1"))
    assert (first["name"], first["unique_name"], first["state"], first["service"], first["node"]) == (
        "web",
        "web-1",
        "Running",
        uri,
        node["resource_uri"],
    )
    curi = first["resource_uri"]
    assert cli.ok("container", "stop", "web-1").strip() == first["uuid"]
    wait_for_state(api, curi, "Stopped")
    assert docker_states(docker_client, uuid)[dname("web-1")] == "exited"
    assert wait_for_state(api, uri, "Partly running")["current_num_containers"] == 3
    assert cli.ok("container", "start", first["uuid"][:8]).strip() == first["uuid"]
    wait_for_state(api, curi, "Running")
    assert docker_states(docker_client, uuid)[dname("web-1")] == "running"
    before = docker_client.containers.get(dname("web-1")).id
    assert cli.ok("container", "redeploy", "web-1").strip() == first["uuid"]
    wait_for(lambda: _docker_id(docker_client, dname("web-1")) not in (None, before), message="web-1 replaced")
    wait_for_state(api, curi, "Running")
    assert cli.ok("container", "terminate", "web-1").strip() == first["uuid"]
    wait_for_state(api, curi, "Terminated")
    wait_for(lambda: dname("web-1") not in docker_states(docker_client, uuid), message="web-1 removed from Docker")
    missing = cli("container", "stop", "no-such-container")
    assert (missing.returncode, missing.stderr) == (
        3,
        "Cannot find a container with the identifier 'no-such-container'\n",
    )

    # -- node list, node inspect: the engine the containers run on.
    (row,) = table(cli.ok("node", "list"))
    assert short_uuid_shown(row["UUID"], node["uuid"]), row
    assert row["STATUS"] == "▶ Deployed"
    assert row["DOCKER_VER"] == docker_client.version()["Version"]
    assert AGO.fullmatch(row["LASTSEEN"]), row
    inspected = json.loads(cli.ok("node", "inspect", node["uuid"][:8]))
    assert (inspected["uuid"], inspected["state"], inspected["resource_uri"]) == (
        node["uuid"],
        "Deployed",
        node["resource_uri"],
    )

    # -- action list, action inspect: what the steps above did, newest included, as the CLI shows them.
    rows = table(cli.ok("action", "list"))
    assert rows and all(AGO.fullmatch(r["START"]) for r in rows), rows
    names = {r["ACTION"] for r in rows}
    assert {"Service Start", "Service Scale", "Service Stop", "Service Redeploy"} <= names, names
    assert uuid in {r["TARGET"] for r in rows}
    action_uuid = cli.ok("action", "list", "-q").split()[0]
    action = json.loads(cli.ok("action", "inspect", action_uuid))
    assert action["uuid"] == action_uuid and action["state"] in ("Success", "Failed", "In progress", "Pending")
    assert action["object"].startswith("/api/v1/")
    same = json.loads(cli.ok("action", "inspect", action_uuid[:8]))
    assert same["uuid"] == action_uuid

    # -- trigger create / list, then a call of its URL with no credentials: a redeploy.
    assert cli.ok("trigger", "create", "-n", "deploy-hook", "-o", "REDEPLOY", "web").strip() == uuid
    (trigger,) = api.get(f"{uri}trigger/").json()["objects"]
    assert (trigger["name"], trigger["operation"]) == ("deploy-hook", "REDEPLOY")
    assert re.fullmatch(rf"/api/v1/service/{uuid}/trigger/[^/]+/call/", trigger["url"]), trigger
    (row,) = table(cli.ok("trigger", "list", "web"))
    assert (row["NAME"], row["OPERATION"]) == ("deploy-hook", "REDEPLOY")
    assert row["URL"] == live_server.url + trigger["url"][1:]  # the CLI drops the slash (its bug, kept)
    assert short_uuid_shown(row["UUID"], trigger["uuid"]), row
    before = {c.id for c in docker_by_name(docker_client, uuid).values()}
    called = requests.post(live_server.url + trigger["url"], timeout=10)
    assert called.status_code == 202, called.text
    wait_for(
        lambda: before.isdisjoint(c.id for c in docker_by_name(docker_client, uuid).values()),
        timeout=90,
        message="the trigger's redeploy to replace every container",
    )
    running(api, uri, api.get(uri).json()["target_num_containers"])

    # -- stack list: no stacks; the table's headers only.
    assert cli.ok("stack", "list").split() == ["NAME", "UUID", "STATUS", "DEPLOYED", "DESTROYED"]

    # -- service terminate --sync: Terminated, Docker empty, still readable by uuid.
    assert ok_sync(cli, "service", "terminate", "--sync", "web") == uuid
    service = api.get(uri).json()
    assert service["state"] == "Terminated" and service["destroyed_datetime"] is not None
    wait_for(lambda: docker_states(docker_client, uuid) == {}, message="the Docker containers to be removed")
    assert json.loads(cli.ok("service", "inspect", uuid))["state"] == "Terminated"


def test_final_sdk_scenario(worker, docker_client, api, final_cli):  # noqa: F811
    out = final_cli.sdk_json(
        f"""
        import json
        import time
        import tutum

        def wait(action_uri):
            for _ in range(300):
                action = tutum.Utils.fetch_by_resource_uri(action_uri)
                if action.state in ("Success", "Failed"):
                    return action
                time.sleep(0.3)
            raise SystemExit("action %s never finished" % action_uri)

        svc = tutum.Service.create(image="local/busybox", name="sdk", target_num_containers=2,
                                   run_command={CLEAN_STOP!r},
                                   container_envvars=[{{"key": "GREETING", "value": "sdk"}}])
        assert svc.save()
        assert svc.state == "Not running", svc.state
        assert svc.start()
        started = wait(svc.tutum_action_uri)
        fetched = tutum.Service.fetch(svc.uuid)
        container = tutum.Utils.fetch_by_resource_uri(fetched.containers[0])
        listed = [s.uuid for s in tutum.Service.list()]
        by_name = [s.uuid for s in tutum.Service.list(name="sdk")]
        containers = sorted(c.unique_name for c in tutum.Container.list(service=svc.resource_uri))
        again = tutum.Utils.fetch_by_resource_uri(svc.resource_uri)
        assert svc.delete()
        terminated = wait(svc.tutum_action_uri)
        print(json.dumps({{
            "uuid": svc.uuid,
            "started": [started.state, started.object, started.action],
            "fetched": [fetched.name, fetched.state, fetched.current_num_containers],
            "container": [type(container).__name__, container.service, container.state],
            "listed": listed, "by_name": by_name, "containers": containers,
            "again": [type(again).__name__, again.uuid],
            "terminated": terminated.state,
        }}))
        """
    )
    uuid, uri = out["uuid"], f"/api/v1/service/{out['uuid']}/"
    assert out["started"] == ["Success", uri, "Service Start"]
    assert out["fetched"] == ["sdk", "Running", 2]
    assert out["container"] == ["Container", uri, "Running"]
    assert out["listed"] == out["by_name"] == [uuid]
    assert out["containers"] == ["sdk-1", "sdk-2"]
    assert out["again"] == ["Service", uuid]
    assert out["terminated"] == "Success"
    assert api.get(uri).json()["state"] == "Terminated"
    wait_for(lambda: docker_states(docker_client, uuid) == {}, message="the Docker containers removed")


def _answers(url) -> bool:
    try:
        requests.get(url, timeout=2)
        return True
    except requests.RequestException:
        return False


def _docker_id(docker_client, name):
    try:
        return docker_client.containers.get(name).id
    except Exception:
        return None

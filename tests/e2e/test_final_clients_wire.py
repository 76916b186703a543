"""What the final clients put on the wire, recorded against the in-memory stand-in of wire_recorder.py (no
database, no Docker): the facts docs/wire-2015.md states, kept true. When the server team is unsure what a
command sends, the recorder answers it in a second."""

import base64
import re
import time

import pytest

from .final_clients import CLI_USER_AGENT, SDK_USER_AGENT, final_clients  # noqa: F401 (fixture)
from .wire_recorder import Recorder, _Handler

pytestmark = pytest.mark.e2e

KEY = "0123456789abcdef0123456789abcdef01234567"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def recorded(final_clients, tmp_path):  # noqa: F811
    with Recorder(instant_actions=True) as rec:
        rec.cli = final_clients.cli(rec.url, "alice", KEY, home=tmp_path / "home")
        yield rec


def lines(rec) -> list[str]:
    return [r.line() for r in rec.take()]


def test_every_command_checks_its_credentials_first(recorded):
    assert (
        recorded.cli.ok("service", "ps").split()
        == "NAME UUID STATUS #CONTAINERS IMAGE DEPLOYED".split()  # an empty list: 6 blank cells, 6 headers shown
    )
    auth, services, stacks = recorded.take()
    assert (auth.line(), services.line(), stacks.line()) == ("GET /auth/", "GET /service/", "GET /stack/")
    token = base64.b64encode(f"alice:{KEY}".encode()).decode()
    for request in (auth, services, stacks):
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["authorization"] == f"Basic {token}"
        assert headers["user-agent"] == CLI_USER_AGENT
        assert headers["content-type"] == "application/json"
        assert "accept" not in headers  # no Accept at all: the answer must be JSON without one
        assert request.body == ""


def test_service_run_then_names_resolve_through_the_list_filters(recorded):
    cli = recorded.cli
    uuid = cli.ok("service", "run", "-t", "2", "-p", "80", "-e", "K=V", "--name", "web", "local/httpd").strip()
    assert UUID.fullmatch(uuid)
    auth, create, start = recorded.take()
    assert (create.line(), start.line()) == ("POST /service/", f"POST /service/{uuid}/start/")
    assert create.json == {
        "image": "local/httpd",
        "name": "web",
        "target_num_containers": 2,
        "container_ports": [{"inner_port": "80", "protocol": "tcp", "published": True}],  # a string; no outer
        "container_envvars": [{"key": "K", "value": "V"}],
        "linked_to_service": [],
        "bindings": [],
        "tags": [],
        "autoredeploy": False,
        "sequential_deployment": False,
        "privileged": False,
    }
    assert start.body == "" and start.headers["Content-Length"] == "0"

    cli.ok("service", "inspect", "web")
    assert lines(recorded) == [
        "GET /auth/",
        "GET /service/?uuid__startswith=web",
        "GET /service/?name=web",
        f"GET /service/{uuid}/",
    ]
    cli.ok("service", "inspect", uuid[:8])
    assert lines(recorded) == ["GET /auth/", f"GET /service/?uuid__startswith={uuid[:8]}", f"GET /service/{uuid}/"]
    cli.ok("service", "inspect", uuid)
    assert lines(recorded) == ["GET /auth/", f"GET /service/{uuid}/"]


def test_a_filter_the_server_ignores_makes_every_name_ambiguous(recorded, monkeypatch):
    recorded.cli.ok("service", "run", "--name", "web", "local/httpd")
    recorded.cli.ok("service", "run", "--name", "db", "local/httpd")
    real = _Handler._list
    monkeypatch.setattr(_Handler, "_list", lambda self, fake, kind, q: real(self, fake, kind, {}))
    result = recorded.cli("service", "inspect", "web")
    assert (result.returncode, result.stderr) == (
        3,
        "More than one service has the same identifier, please use the long uuid\n",
    )


def test_scale_sync_patches_then_scales_then_polls_the_action_every_four_seconds(final_clients, tmp_path):  # noqa: F811
    with Recorder(instant_actions=False) as rec:  # the action reads In progress once, then Success
        cli = final_clients.cli(rec.url, "alice", KEY, home=tmp_path)
        uuid = cli.ok("service", "run", "--name", "web", "local/httpd").strip()
        rec.take()
        started = time.monotonic()
        out = cli.ok("service", "scale", "web", "3", "--sync")
        elapsed = time.monotonic() - started
        requests = rec.take()
    assert out == f"In progress\nSuccess\n{uuid}\n"  # the uuid comes after the poll
    action = requests[-1].route[len("/api/v1") :]
    assert [r.line() for r in requests[4:]] == [
        f"PATCH /service/{uuid}/",
        f"POST /service/{uuid}/scale/",
        f"GET {action}",
        f"GET {action}",
    ]
    assert requests[4].json == {"target_num_containers": 3}
    assert 4 <= elapsed < 8


def test_set_redeploy_sync_polls_the_patch_action_and_the_redeploy_action(recorded):
    uuid = recorded.cli.ok("service", "run", "--name", "web", "local/httpd").strip()
    recorded.take()
    out = recorded.cli.ok("service", "set", "--image", "local/httpd:v2", "--redeploy", "--sync", "web")
    assert out == f"Success\nRedeploying Service ...\nSuccess\n{uuid}\n"
    requests = recorded.take()
    assert [r.line() for r in requests[4:]] == [
        f"PATCH /service/{uuid}/",
        requests[5].line(),  # GET the action of the PATCH's X-Tutum-Action-URI
        f"POST /service/{uuid}/redeploy/?reuse_volumes=True",
        requests[7].line(),
    ]
    assert requests[4].json == {"image": "local/httpd:v2"}
    assert requests[5].route.startswith("/api/v1/action/") and requests[7].route.startswith("/api/v1/action/")
    recorded.cli.ok("service", "redeploy", "--not-reuse-volumes", "web")
    assert lines(recorded)[-1] == f"POST /service/{uuid}/redeploy/?reuse_volumes=False"


def test_container_ps_reads_stacks_services_and_nodes(recorded):
    svc = recorded.cli.ok("service", "run", "-t", "2", "--name", "web", "local/httpd").strip()
    recorded.take()
    rows = recorded.cli.ok("container", "ps", "--service", "web").splitlines()
    assert [row.split()[0] for row in rows] == ["NAME", "web-1", "web-2"]
    assert lines(recorded) == [
        "GET /auth/",
        "GET /service/?uuid__startswith=web",
        "GET /service/?name=web",
        f"GET /service/{svc}/",
        f"GET /container/?service=%2Fapi%2Fv1%2Fservice%2F{svc}%2F",
        "GET /stack/",
        "GET /service/",
        "GET /node/",
    ]
    # A container whose node is not in GET /node/ breaks the table (None[:8]); --no-trunc does not slice.
    container = next(iter(recorded.fake.objects["container"].values()))
    container["node"] = "/api/v1/node/elsewhere/"
    broken = recorded.cli("container", "ps")
    assert (broken.returncode, broken.stderr) == (3, "'NoneType' object has no attribute '__getitem__'\n")
    assert recorded.cli("container", "ps", "--no-trunc").returncode == 0


def test_what_breaks_the_tables(recorded):
    recorded.cli.ok("service", "run", "--name", "web", "local/httpd")
    service = next(iter(recorded.fake.objects["service"].values()))
    container = next(iter(recorded.fake.objects["container"].values()))

    service["deployed_datetime"] = "2015-10-13T11:01:43Z"
    result = recorded.cli("service", "ps")
    assert (result.returncode, result.stderr) == (
        3,
        "time data '2015-10-13T11:01:43Z' does not match format '%a, %d %b %Y %H:%M:%S +0000'\n",
    )
    service["deployed_datetime"] = "Tue, 1 Dec 2015 09:05:00 +0000"  # a one-digit day parses
    del service["public_dns"]
    result = recorded.cli("service", "ps")
    assert (result.returncode, result.stderr) == (3, "'Service' object has no attribute 'public_dns'\n")

    container["container_ports"] = [{"protocol": "tcp", "inner_port": "80", "outer_port": None}]
    result = recorded.cli("container", "ps")
    assert (result.returncode, result.stderr) == (3, "%d format: a number is required, not unicode\n")
    container["container_ports"] = [{"protocol": "tcp", "inner_port": 80}]
    result = recorded.cli("container", "ps")
    assert (result.returncode, result.stderr) == (3, "'outer_port'\n")


def test_an_action_answered_without_json(recorded, monkeypatch):
    uuid = recorded.cli.ok("service", "run", "--name", "web", "local/httpd").strip()
    real = _Handler._route

    def answer(self, fake, request):
        status, payload, action = real(self, fake, request)
        if request.route.endswith("/stop/"):
            return 202, None, action  # an empty body with a 2xx other than 204
        if request.method == "DELETE":
            return 204, None, action
        return status, payload, action

    monkeypatch.setattr(_Handler, "_route", answer)
    result = recorded.cli("service", "stop", "web")
    assert (result.returncode, result.stdout, result.stderr) == (3, "", "No JSON object could be decoded\n")
    recorded.take()
    # 204 on DELETE: the uuid is still printed, but there is no action to follow: --sync returns at once.
    assert recorded.cli.ok("service", "terminate", "--sync", "web") == f"{uuid}\n"
    assert not [r for r in recorded.take() if "/action/" in r.path]


def test_triggers_and_the_url_the_cli_prints(recorded):
    uuid = recorded.cli.ok("service", "run", "--name", "web", "local/httpd").strip()
    recorded.take()
    assert recorded.cli.ok("trigger", "create", "-n", "t1", "-o", "REDEPLOY", "web") == f"{uuid}\n"
    requests = recorded.take()
    assert [r.line() for r in requests[4:]] == [f"GET /service/{uuid}/trigger/", f"POST /service/{uuid}/trigger/"]
    assert requests[5].json == {"name": "t1", "operation": "REDEPLOY"}
    (trigger,) = recorded.fake.objects["trigger"].values()
    header, row = recorded.cli.ok("trigger", "list", "web").splitlines()
    assert header.split() == ["UUID", "NAME", "OPERATION", "URL"]
    # TUTUM_REST_HOST + url[1:]: the slash between host and path is lost (a bug of the CLI).
    assert row.split() == [trigger["uuid"][:8], "t1", "REDEPLOY", recorded.url + trigger["url"][1:]]


def test_login_stores_basic_user_password_without_checking_first(recorded):
    assert recorded.cli.ok("login", "-u", "alice", "-p", "pw") == "Login succeeded!\n"
    (auth,) = recorded.take()  # no separate credential check before login
    assert auth.line() == "GET /auth/"
    assert auth.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:pw").decode()
    assert "basic_auth = " + base64.b64encode(b"alice:pw").decode() in (recorded.cli.home / ".tutum").read_text()


def test_sdk_calls(recorded):
    out = recorded.cli.sdk_json(
        """
        import json
        import tutum

        svc = tutum.Service.create(image="local/busybox", name="sdk", target_num_containers=2)
        saved = svc.save()
        created_action = svc.tutum_action_uri
        started = svc.start()
        action = tutum.Utils.fetch_by_resource_uri(svc.tutum_action_uri)
        same = tutum.Service.fetch(svc.uuid)
        print(json.dumps({"saved": saved, "started": started, "created_action": created_action,
                          "action": [type(action).__name__, action.state, action.object],
                          "fetched": [same.name, same.state], "listed": [s.uuid for s in tutum.Service.list()],
                          "uuid": svc.uuid}))
        """
    )
    uuid = out["uuid"]
    assert out["saved"] is out["started"] is True
    assert out["action"] == ["Action", "Success", f"/api/v1/service/{uuid}/"]
    assert out["fetched"] == ["sdk", "Running"] and out["listed"] == [uuid]
    requests = recorded.take()
    assert [r.line() for r in requests] == [
        "POST /service/",
        f"POST /service/{uuid}/start/",
        requests[2].line(),
        f"GET /service/{uuid}/",
        "GET /service/",
    ]
    assert requests[0].json == {"image": "local/busybox", "name": "sdk", "target_num_containers": 2}
    assert requests[2].route.startswith("/api/v1/action/")
    assert out["created_action"].startswith("/api/v1/action/")  # the header of the POST that created it
    assert {r.headers["User-Agent"] for r in requests} == {SDK_USER_AGENT}

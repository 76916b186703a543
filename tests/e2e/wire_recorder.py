"""A tiny stand-in for the 2015 Tutum API on 127.0.0.1 that records every request the final clients make.

It is not the server: it keeps a few objects in memory, answers with the fields the CLI reads and with
`X-Tutum-Action-URI` on every change, so that each everyday command runs to its end and what it sends can be
read back (`Recorder.requests`). docs/wire-2015.md was written from what it recorded; the fast tests in
test_final_clients_wire.py keep the document honest.

    with Recorder() as rec:
        FinalClients(...).cli_at(rec.url, "user", "key")("service", "ps")
        rec.requests  # [Request(method="GET", path="/api/v1/auth/", ...), ...]
"""

import json
import re
import threading
import uuid as uuidlib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

PREFIX = "/api/v1/"


def rfc2822_now() -> str:
    """The datetime format of the 2015 API: "Mon, 13 Oct 2014 11:01:43 +0000"."""
    return formatdate(usegmt=True).replace("GMT", "+0000")


@dataclass
class Request:
    method: str
    path: str  # as sent, with the query string
    headers: dict
    body: str

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.path).query, keep_blank_values=True)

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def line(self) -> str:
        """`METHOD /path?query` with the /api/v1 prefix dropped, for short assertions."""
        path = self.path[len(PREFIX) - 1 :] if self.path.startswith(PREFIX) else self.path
        return f"{self.method} {path}"


@dataclass
class Fake:
    """The in-memory objects. Actions go `In progress` on their first read and `Success` on the next, so a
    `--sync` poll is seen once (4 s); set `instant_actions` to answer `Success` at once."""

    instant_actions: bool = False
    objects: dict = field(
        default_factory=lambda: {
            t: {} for t in ("service", "container", "node", "nodecluster", "stack", "action", "trigger")
        }
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        cluster = self.add("nodecluster", {"name": "default", "state": "Deployed"})
        self.add(
            "node",
            {
                "state": "Deployed",
                "external_fqdn": "node-1.example.test",
                "docker_version": "1.9.1",
                "last_seen": rfc2822_now(),
                "node_cluster": cluster["resource_uri"],
                "public_ip": "127.0.0.1",
                "tags": [],
                "nickname": "node-1",
            },
        )

    def add(self, kind: str, fields: dict) -> dict:
        uid = str(uuidlib.uuid4())
        obj = {"uuid": uid, "resource_uri": f"{PREFIX}{kind}/{uid}/", **fields}
        self.objects[kind][uid] = obj
        return obj

    def action(self, obj: dict, name: str, method: str, path: str) -> dict:
        return self.add(
            "action",
            {
                "action": name,
                "object": obj["resource_uri"],
                "method": method,
                "path": path,
                "state": "Success" if self.instant_actions else "Pending",
                "start_date": rfc2822_now(),
                "end_date": None,
                "ip": "127.0.0.1",
                "location": "Localhost",
                "user_agent": "",
                "body": "",
                "is_user_action": True,
                "can_be_canceled": False,
                "can_be_retried": False,
                "_reads": 0,
            },
        )

    def new_service(self, body: dict) -> dict:
        image = body.get("image", "")
        image_name = image if ":" in image.rsplit("/", 1)[-1] else f"{image}:latest"
        envvars = body.get("container_envvars", [])
        return self.add(
            "service",
            {
                "name": body.get("name") or image.rsplit("/", 1)[-1].split(":")[0],
                "image_name": image_name,
                "image_tag": f"{PREFIX}image/{image_name.replace(':', '/tag/')}/",
                "state": "Not running",
                "synchronized": True,
                "target_num_containers": body.get("target_num_containers", 1),
                "current_num_containers": 0,
                "running_num_containers": 0,
                "stopped_num_containers": 0,
                "deployed_datetime": None,
                "started_datetime": None,
                "stopped_datetime": None,
                "destroyed_datetime": None,
                "public_dns": f"{body.get('name', 'svc')}.example.test",
                "stack": None,
                "containers": [],
                "container_ports": [
                    {
                        **p,
                        "inner_port": int(p["inner_port"]),
                        "outer_port": int(p["outer_port"]) if p.get("outer_port") else None,
                    }
                    for p in body.get("container_ports", [])
                ],
                "container_envvars": envvars,
                "calculated_envvars": [{"origin": "user", **e} for e in envvars]
                + [
                    {"origin": "image", "key": "PATH", "value": "/bin"},
                    {"origin": "tutum", "key": "TUTUM_SERVICE_FQDN", "value": "x"},
                ],
                "linked_to_service": body.get("linked_to_service", []),
                "linked_from_service": [],
                "bindings": body.get("bindings", []),
                "tags": body.get("tags", []),
                "roles": body.get("roles", []),
                "autorestart": body.get("autorestart", "OFF"),
                "autodestroy": body.get("autodestroy", "OFF"),
                "autoredeploy": body.get("autoredeploy", False),
                "run_command": body.get("run_command"),
                "entrypoint": body.get("entrypoint"),
            },
        )

    def deploy_containers(self, service: dict) -> None:
        node = next(iter(self.objects["node"].values()))
        for uri in service["containers"]:
            self.objects["container"][uri.rstrip("/").rsplit("/", 1)[-1]]["state"] = "Running"
        for n in range(len(service["containers"]) + 1, service["target_num_containers"] + 1):
            c = self.add(
                "container",
                {
                    "name": f"{service['name']}-{n}",
                    "state": "Running",
                    "image_name": service["image_name"],
                    "run_command": service["run_command"] or "/bin/sh",
                    "exit_code": None,
                    "deployed_datetime": rfc2822_now(),
                    "container_ports": [
                        dict(p, outer_port=p["outer_port"] or 32768 + n) for p in service["container_ports"]
                    ],
                    "public_dns": f"{service['name']}-{n}.example.test",
                    "node": node["resource_uri"],
                    "service": service["resource_uri"],
                    "container_envvars": service["container_envvars"],
                },
            )
            service["containers"].append(c["resource_uri"])
        service.update(state="Running", current_num_containers=service["target_num_containers"], synchronized=True)
        service["deployed_datetime"] = service["deployed_datetime"] or rfc2822_now()

    def public(self, obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server_version = "wire-recorder"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body=None, action: dict | None = None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if action is not None:
            self.send_header("X-Tutum-Action-URI", action["resource_uri"])
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        rec = Request(self.command, self.path, dict(self.headers.items()), body)
        self.server.recorder.requests.append(rec)
        fake = self.server.recorder.fake
        with fake.lock:
            status, payload, action = self._route(fake, rec)
        self._send(status, payload, action)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

    def _route(self, fake: Fake, rec: Request):
        m = re.fullmatch(r"/api/v1/(\w+)/(?:([^/]+)/)?(?:(\w+)/)?(?:([^/]+)/)?(?:(\w+)/)?", rec.route)
        if not m:
            return 404, {"error": "Not found"}, None
        kind, uid, sub, sub_id, sub_op = m.groups()
        q = dict(rec.query)
        if kind == "auth":
            return 200, {}, None
        if kind not in fake.objects:
            return 404, {"error": f"no {kind}"}, None
        store = fake.objects[kind]
        if uid is None:
            if rec.method == "GET":
                return 200, self._list(fake, kind, q), None
            if rec.method == "POST" and kind == "service":
                svc = fake.new_service(rec.json or {})
                return 201, fake.public(svc), fake.action(svc, "Service Create", "POST", rec.route)
            return 405, {"error": "Method not allowed"}, None
        obj = store.get(uid)
        if obj is None:
            return 404, {"error": "Not found"}, None
        if kind == "action" and rec.method == "GET" and sub is None:
            obj["_reads"] += 1
            if obj["state"] == "Pending":
                obj["state"] = "In progress"
            elif obj["state"] == "In progress":
                obj.update(state="Success", end_date=rfc2822_now())
            return 200, fake.public(obj), None
        if sub == "trigger":
            return self._trigger(fake, obj, sub_id, sub_op, rec)
        if sub is None:
            if rec.method == "GET":
                return 200, fake.public(obj), None
            if rec.method == "PATCH":
                changes = rec.json or {}
                obj.update(changes)
                if "image" in changes:
                    obj["image_name"] = changes["image"]
                if kind == "service":
                    obj["synchronized"] = False
                return 200, fake.public(obj), fake.action(obj, f"{kind.title()} Update", "PATCH", rec.route)
            if rec.method == "DELETE":
                obj["state"] = "Terminated"
                if kind == "service":
                    for c in obj["containers"]:
                        fake.objects["container"][c.rstrip("/").rsplit("/", 1)[-1]]["state"] = "Terminated"
                return 202, fake.public(obj), fake.action(obj, f"{kind.title()} Terminate", "DELETE", rec.route)
            return 405, {"error": "Method not allowed"}, None
        if rec.method != "POST":
            return 405, {"error": "Method not allowed"}, None
        if kind == "service" and sub in ("start", "scale", "redeploy"):
            fake.deploy_containers(obj)
        elif kind == "service" and sub == "stop":
            obj["state"] = "Stopped"
        elif kind == "container":
            obj["state"] = {"start": "Running", "stop": "Stopped", "redeploy": "Running"}.get(sub, obj["state"])
        return 202, fake.public(obj), fake.action(obj, f"{kind.title()} {sub.title()}", "POST", rec.route)

    def _list(self, fake: Fake, kind: str, q: dict) -> dict:
        objs = [fake.public(o) for o in fake.objects[kind].values()]
        for key, value in q.items():
            if key in ("limit", "offset"):
                continue
            if key.endswith("__startswith"):
                objs = [o for o in objs if str(o.get(key[: -len("__startswith")], "")).startswith(value)]
            elif "__" not in key:
                objs = [o for o in objs if str(o.get(key)) == value]
        return {
            "meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": len(objs)},
            "objects": objs,
        }

    def _trigger(self, fake: Fake, service: dict, tid, op, rec: Request):
        triggers = [t for t in fake.objects["trigger"].values() if t["_service"] == service["uuid"]]
        if tid is None and rec.method == "GET":
            return (
                200,
                {
                    "meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": len(triggers)},
                    "objects": [fake.public(t) for t in triggers],
                },
                None,
            )
        if tid is None and rec.method == "POST":
            body = rec.json or {}
            t = fake.add(
                "trigger",
                {
                    "name": body.get("name", ""),
                    "operation": body.get("operation", "REDEPLOY"),
                    "_service": service["uuid"],
                },
            )
            t["resource_uri"] = f"{service['resource_uri']}trigger/{t['uuid']}/"
            t["url"] = f"{t['resource_uri']}call/"
            return 201, fake.public(t), None
        if op == "call" and rec.method == "POST":
            return 202, fake.public(service), fake.action(service, "Service Redeploy", "POST", rec.route)
        return 404, {"error": "Not found"}, None


class Recorder:
    """The fake API on 127.0.0.1 (a free port), recording every request, in a background thread."""

    def __init__(self, instant_actions: bool = False):
        self.fake = Fake(instant_actions=instant_actions)
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.recorder = self
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[Request]:
        """The requests recorded since the last take()."""
        taken, self.requests[:] = list(self.requests), []
        return taken

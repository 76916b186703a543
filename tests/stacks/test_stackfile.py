"""The stack-file dialect as real files write it: every key and form, and the errors that name service and key.

These files are read without the database: `links` and `volumes_from` come back as references (resolving
them is tests/stacks/test_stack_api.py's business), and nothing else needs a row.
"""

from types import SimpleNamespace

import pytest

from apps.core.images import ImageReference
from apps.services.models import Service
from apps.stacks.stackfile import ServiceRef, StackFileError, export_service, read_service, read_stack_file

USER = SimpleNamespace(is_staff=False, pk=1)
STAFF = SimpleNamespace(is_staff=True, pk=2)


def fields_of(stack_file, name="web", owner=USER):
    drafts = {d.name: d for d in read_stack_file(stack_file, owner)}
    return drafts[name]


def web(**keys):
    return {"web": {"image": "tutum/hello-world", **keys}}


def port(inner, protocol="tcp", outer=None, published=True):
    return {"inner_port": inner, "protocol": protocol, "outer_port": outer, "published": published, "port_name": ""}


# (stack file, expected fields of its service "web" (a subset))
VALID = [
    pytest.param(web(), {"image": ImageReference("tutum/hello-world", "latest"), "name": "web"}, id="image-only"),
    pytest.param(
        {"web": {"image": "127.0.0.1:5000/team/app:1.0"}},
        {"image": ImageReference("127.0.0.1:5000/team/app", "1.0")},
        id="image-registry-tag",
    ),
    pytest.param(web(command="python app.py --port 80"), {"run_command": "python app.py --port 80"}, id="command"),
    pytest.param(web(command=["sh", "-c", "echo hi"]), {"run_command": "sh -c 'echo hi'"}, id="command-list"),
    pytest.param(web(entrypoint="/entry.sh"), {"entrypoint": "/entry.sh"}, id="entrypoint"),
    pytest.param(
        web(environment=["A=1", "B=x=y", "EMPTY"]),
        {
            "container_envvars": [
                {"key": "A", "value": "1"},
                {"key": "B", "value": "x=y"},
                {"key": "EMPTY", "value": ""},
            ]
        },
        id="environment-list",
    ),
    pytest.param(
        web(environment={"A": "1", "N": 3, "T": True, "NONE": None}),
        {
            "container_envvars": [
                {"key": "A", "value": "1"},
                {"key": "N", "value": "3"},
                {"key": "T", "value": "true"},
                {"key": "NONE", "value": ""},
            ]
        },
        id="environment-map",
    ),
    pytest.param(web(environment="ONLY=one"), {"container_envvars": [{"key": "ONLY", "value": "one"}]}, id="env-str"),
    pytest.param(
        web(labels={"com.example.tier": "front", "n": 1}), {"labels": {"com.example.tier": "front", "n": "1"}}
    ),
    pytest.param(web(labels=["a=b", "flag"]), {"labels": {"a": "b", "flag": ""}}, id="labels-list"),
    pytest.param(
        web(ports=["80", "8080:81", "53/udp", "4500:4500/udp", 443]),
        {
            "container_ports": [
                port(80),
                port(81, outer=8080),
                port(53, "udp"),
                port(4500, "udp", outer=4500),
                port(443),
            ]
        },
        id="ports",
    ),
    pytest.param(
        web(expose=["90", "91/udp", 92]),
        {"container_ports": [port(90, published=False), port(91, "udp", published=False), port(92, published=False)]},
        id="expose",
    ),
    pytest.param(
        web(ports=["80"], expose=["80", "81"]),
        {"container_ports": [port(80), port(81, published=False)]},
        id="expose-of-a-published-port",
    ),
    pytest.param(
        web(volumes=["/data", "data:/named", "/cache:/cache:rw"]),
        {
            "bindings": [
                {"host_path": "", "container_path": "/data", "rewritable": True},
                {"host_path": "data", "container_path": "/named", "rewritable": True},
                {"host_path": "/cache", "container_path": "/cache", "rewritable": True},
            ]
        },
        id="volumes",
    ),
    pytest.param(web(tags=["prod", "eu"]), {"tags": ["prod", "eu"]}, id="tags"),
    pytest.param(web(target_num_containers=4), {"target_num_containers": 4}, id="target"),
    pytest.param(web(restart="always"), {"autorestart": "ALWAYS"}, id="restart-always"),
    pytest.param(web(restart="on-failure"), {"autorestart": "ON_FAILURE"}, id="restart-on-failure"),
    pytest.param(web(restart="on_failure"), {"autorestart": "ON_FAILURE"}, id="restart-on_failure"),
    pytest.param(web(restart="ON_FAILURE"), {"autorestart": "ON_FAILURE"}, id="restart-upper"),
    pytest.param(web(restart="no"), {"autorestart": "OFF"}, id="restart-no"),
    pytest.param(web(restart=False), {"autorestart": "OFF"}, id="restart-yaml-no"),
    pytest.param(web(autorestart="ALWAYS"), {"autorestart": "ALWAYS"}, id="autorestart-legacy"),
    pytest.param(web(autodestroy="on-success"), {"autodestroy": "ON_SUCCESS"}, id="autodestroy"),
    pytest.param(web(autodestroy="always"), {"autodestroy": "ALWAYS"}, id="autodestroy-always"),
    pytest.param(web(autodestroy=False), {"autodestroy": "OFF"}, id="autodestroy-no"),
    pytest.param(web(deployment_strategy="high_availability"), {"deployment_strategy": "HIGH_AVAILABILITY"}),
    pytest.param(web(deployment_strategy="every-node"), {"deployment_strategy": "EVERY_NODE"}, id="strategy-dash"),
    pytest.param(web(deployment_strategy="EMPTIEST_NODE"), {"deployment_strategy": "EMPTIEST_NODE"}, id="strat-up"),
    pytest.param(
        web(sequential_deployment=True, autoredeploy=True, read_only=True, stdin_open=True, tty=True),
        {"sequential_deployment": True, "autoredeploy": True, "read_only": True, "stdin_open": True, "tty": True},
        id="booleans",
    ),
    pytest.param(web(roles=["global"]), {"roles": ["global"]}, id="roles"),
    pytest.param(web(net="bridge", pid="none"), {"net": "bridge", "pid": "none"}, id="net-pid-default"),
    pytest.param(web(dns="8.8.8.8", dns_search="example.com"), {"dns": ["8.8.8.8"], "dns_search": ["example.com"]}),
    pytest.param(web(dns=["8.8.8.8", "1.1.1.1"]), {"dns": ["8.8.8.8", "1.1.1.1"]}, id="dns-list"),
    pytest.param(
        web(cap_drop=["NET_RAW"], extra_hosts=["db.local:10.0.0.2"]),
        {"cap_drop": ["NET_RAW"], "extra_hosts": ["db.local:10.0.0.2"]},
        id="cap_drop-extra_hosts",
    ),
    pytest.param(
        web(working_dir="/app", user=1000, hostname="box", domainname="example.com", mac_address="02:42:ac:11:00:02"),
        {"working_dir": "/app", "user": "1000", "hostname": "box", "domainname": "example.com"},
        id="single-values",
    ),
    pytest.param(web(cpu_shares=512, cpuset="0-1"), {"cpu_shares": 512, "cpuset": "0-1"}, id="cpu"),
    pytest.param(web(mem_limit="512m", memswap_limit="1g"), {"memory": 512, "memory_swap": 1024}, id="memory-units"),
    pytest.param(web(mem_limit=268435456, memswap_limit=-1), {"memory": 256, "memory_swap": -1}, id="memory-bytes"),
    pytest.param(web(mem_limit="64MB"), {"memory": 64}, id="memory-mb"),
    pytest.param(web(mem_limit="10241k"), {"memory": 11}, id="memory-rounded-up"),
]


@pytest.mark.parametrize("stack_file, expected", VALID)
def test_a_valid_file_becomes_service_fields(stack_file, expected, settings):
    settings.TUTUM_ALLOW_HOST_PATHS = True  # one case binds /cache (refusals: the tenant-safety tests below)
    fields = fields_of(stack_file).fields
    assert {key: fields.get(key) for key in expected} == expected


def test_keys_left_out_are_left_out_of_the_fields():
    fields = fields_of(web()).fields
    # create_service then takes the model's defaults, and the image's ports and command.
    assert set(fields) == {"image", "name"}


LINKS = [
    pytest.param(["db"], [(ServiceRef("db"), "db")], id="name"),
    pytest.param(["db:database"], [(ServiceRef("db"), "database")], id="alias"),
    pytest.param(["cache.infra:redis"], [(ServiceRef("cache", "infra"), "redis")], id="other-stack"),
    pytest.param(["cache.infra"], [(ServiceRef("cache", "infra"), "cache")], id="other-stack-no-alias"),
]


@pytest.mark.parametrize("links, expected", LINKS)
def test_links_are_references_with_an_alias(links, expected):
    assert fields_of(web(links=links)).links == expected


def test_volumes_from_are_references():
    draft = fields_of(web(volumes_from=["data", "store.other"]))
    assert draft.volumes_from == [ServiceRef("data"), ServiceRef("store", "other")]
    assert "bindings" not in draft.fields


def test_the_cli_list_form_and_the_map_form_read_the_same():
    as_map = {"web": {"image": "nginx", "ports": ["80"]}, "db": {"image": "mysql"}}
    as_list = [{"name": "web", "image": "nginx", "ports": ["80"]}, {"name": "db", "image": "mysql"}]
    assert [d.fields for d in read_stack_file(as_map, USER)] == [d.fields for d in read_stack_file(as_list, USER)]


# (stack file, a line the error must contain)
INVALID = [
    pytest.param(web(build="."), "web: build: building images is not supported", id="build"),
    pytest.param(web(external_links=["x"]), "web: external_links: not supported", id="external_links"),
    pytest.param(web(env_file=".env"), "web: env_file: not supported", id="env_file"),
    pytest.param(web(container_name="x"), "web: container_name: not supported", id="container_name"),
    pytest.param(web(colour="blue"), "web: colour: not a key of the stack file", id="unknown-key"),
    pytest.param({"web": {"ports": ["80"]}}, "web: image: every service needs an image", id="no-image"),
    pytest.param({"web": {"image": "Not An Image!"}}, "web: image: 'Not An Image!' is not a valid image", id="image"),
    pytest.param({"web": {"image": 3}}, "web: image: expected a string", id="image-type"),
    pytest.param(web(ports=["70000"]), "web: ports: '70000': port 70000 is out of range (1-65535)", id="port-range"),
    pytest.param(web(ports=["0:80"]), "web: ports: '0:80': port 0 is out of range", id="outer-port-range"),
    pytest.param(web(ports=["80/sctp"]), "web: ports: '80/sctp': the protocol is tcp or udp", id="protocol"),
    pytest.param(web(ports=["127.0.0.1:80:80"]), "web: ports: '127.0.0.1:80:80' is not a port", id="port-address"),
    pytest.param(web(ports=["8000-8010"]), "web: ports: '8000-8010' is not a port", id="port-range-form"),
    pytest.param(web(ports="80"), "web: ports: expected a list, got a string", id="ports-type"),
    pytest.param(web(expose=["8080:80"]), "web: expose: '8080:80': an exposed port has no outer port", id="expose"),
    pytest.param(web(restart="sometimes"), "web: restart: 'sometimes' is not one of no, on-failure, always"),
    pytest.param(web(autorestart="never"), "web: autorestart: 'never' is not one of", id="autorestart"),
    pytest.param(web(restart="always", autorestart="always"), "web: autorestart: the older name of restart"),
    pytest.param(web(autodestroy="on-failure"), "web: autodestroy: 'on-failure' is not one of no, on-success"),
    pytest.param(web(deployment_strategy="random"), "web: deployment_strategy: 'random' is not one of"),
    pytest.param(web(autoredeploy="ON_SUCCESS"), "web: autoredeploy: expected true or false, got a string"),
    pytest.param(web(tty="yes"), "web: tty: expected true or false", id="bool-type"),
    pytest.param(web(target_num_containers="2"), "web: target_num_containers: expected an integer", id="target"),
    pytest.param(web(target_num_containers=-1), "web: target_num_containers: ", id="target-negative"),
    pytest.param(web(roles=["admin"]), "web: roles: 'admin' is not one of global", id="roles"),
    pytest.param(web(net="overlay"), "web: net: 'overlay' is not one of bridge, host", id="net"),
    pytest.param(web(environment=["1BAD=x"]), "web: environment: ", id="env-key"),
    pytest.param(web(environment=3), "web: environment: expected a list of `KEY=value` or a map", id="env-type"),
    pytest.param(web(environment=[{"A": 1}]), "web: environment: expected `KEY=value` strings", id="env-item"),
    pytest.param(web(labels="a=b"), "web: labels: expected a map or a list", id="labels-type"),
    pytest.param(web(volumes=["./data:/data"]), "web: volumes: './data:/data': a path relative", id="relative"),
    pytest.param(web(volumes=["/h:/c:rx"]), "web: volumes: '/h:/c:rx': the mode is ro or rw", id="volume-mode"),
    pytest.param(web(volumes=["data"]), "web: volumes: ", id="volume-not-absolute"),
    pytest.param(web(links="db"), "web: links: expected a list", id="links-type"),
    pytest.param(web(links=["bad name"]), "web: links: 'bad name' is not a service name", id="link-name"),
    pytest.param(web(volumes_from=["a:b:c"]), "web: volumes_from: 'a:b:c' is not a service name", id="vf-name"),
    pytest.param(web(mem_limit="lots"), "web: mem_limit: 'lots' is not an amount of memory", id="memory"),
    pytest.param(web(mem_limit="1m"), "web: mem_limit: ", id="memory-too-small"),
    pytest.param(web(cpu_shares="high"), "web: cpu_shares: expected an integer", id="cpu_shares"),
    pytest.param(web(mac_address="nope"), "web: mac_address: 'nope' is not a MAC address", id="mac"),
    pytest.param(web(dns=["not-an-ip"]), "web: dns: Not IP addresses", id="dns"),
    pytest.param(web(labels={"tutum.x": "y"}), "web: labels: Labels starting with 'tutum.'", id="reserved-label"),
    pytest.param(web(mem_limit="512m", memswap_limit="256m"), "web: memswap_limit: Must be at least memory"),
    pytest.param({"web": "nginx"}, "web: expected a map of keys, got a string", id="entry-type"),
    pytest.param([{"image": "nginx"}], "services[0]: name: every service needs a name", id="no-name"),
    pytest.param([{"name": "web", "image": "a"}, {"name": "web", "image": "b"}], "web: name: the file has two"),
    pytest.param({"web": {"name": "api", "image": "nginx"}}, "web: name: the entry of 'web' names itself 'api'"),
    pytest.param({"bad_name": {"image": "nginx"}}, "bad_name: name: Use 1 to 63 letters", id="service-name"),
    pytest.param("web: {image: nginx}", "services: expected a list of services or a map", id="file-type"),
]


@pytest.mark.parametrize("stack_file, message", INVALID)
def test_an_invalid_file_is_refused_naming_the_service_and_the_key(stack_file, message):
    with pytest.raises(StackFileError) as caught:
        read_stack_file(stack_file, USER)
    assert any(message in line for line in caught.value.errors), caught.value.errors


def test_every_problem_of_every_service_is_reported_at_once():
    with pytest.raises(StackFileError) as caught:
        read_stack_file({"web": {"image": "nginx", "tty": 1, "build": "."}, "db": {"ports": ["x"]}}, USER)
    errors = caught.value.errors
    assert any(e.startswith("web: tty:") for e in errors)
    assert any(e.startswith("web: build:") for e in errors)
    assert any(e.startswith("db: ports:") for e in errors)
    assert any(e.startswith("db: image:") for e in errors)


# ---------------------------------------------------------------- tenant safety

# (keys, the key the refusal names, the operator setting that allows it)
DANGEROUS = [
    pytest.param({"privileged": True}, "privileged", "TUTUM_ALLOW_PRIVILEGED", id="privileged"),
    pytest.param({"net": "host"}, "net", "TUTUM_ALLOW_HOST_NETWORK", id="net-host"),
    pytest.param({"net": "HOST"}, "net", "TUTUM_ALLOW_HOST_NETWORK", id="net-host-upper"),
    pytest.param({"pid": "host"}, "pid", "TUTUM_ALLOW_HOST_PID", id="pid-host"),
    pytest.param({"volumes": ["/etc:/host-etc:ro"]}, "volumes", "TUTUM_ALLOW_HOST_PATHS", id="host-path"),
    pytest.param({"devices": ["/dev/fuse"]}, "devices", "TUTUM_ALLOW_DEVICES", id="devices"),
    pytest.param({"cap_add": ["NET_ADMIN"]}, "cap_add", "TUTUM_ALLOW_CAP_ADD", id="cap_add"),
    pytest.param({"security_opt": ["apparmor:unconfined"]}, "security_opt", "TUTUM_ALLOW_SECURITY_OPT"),
    pytest.param({"cgroup_parent": "/system"}, "cgroup_parent", "TUTUM_ALLOW_CGROUP_PARENT", id="cgroup_parent"),
]


@pytest.mark.parametrize("keys, key, setting", DANGEROUS)
def test_what_hands_over_the_host_is_refused_to_a_user(keys, key, setting, settings):
    setattr(settings, setting, False)
    with pytest.raises(StackFileError) as caught:
        read_stack_file(web(**keys), USER)
    assert any(e.startswith(f"web: {key}: ") and setting in e for e in caught.value.errors), caught.value.errors


@pytest.mark.parametrize("keys, key, setting", DANGEROUS)
def test_what_hands_over_the_host_is_allowed_by_the_operator_setting(keys, key, setting, settings):
    setattr(settings, setting, True)
    assert fields_of(web(**keys)).fields


@pytest.mark.parametrize("keys, key, setting", DANGEROUS)
def test_what_hands_over_the_host_is_allowed_to_staff(keys, key, setting, settings):
    setattr(settings, setting, False)
    assert fields_of(web(**keys), owner=STAFF).fields


@pytest.mark.parametrize("volume", ["/var/run/docker.sock:/var/run/docker.sock", "/var/run:/h", "/:/host", "/run/"])
def test_the_docker_socket_is_refused_to_everyone_but_staff(volume, settings):
    settings.TUTUM_ALLOW_HOST_PATHS = True
    stack_file = web(volumes=[volume if ":" in volume else f"{volume}:/h"])
    with pytest.raises(StackFileError) as caught:
        read_stack_file(stack_file, USER)
    assert any(e.startswith("web: volumes: The Docker socket") for e in caught.value.errors)
    assert fields_of(stack_file, owner=STAFF).fields["bindings"]


def test_a_named_volume_is_not_a_host_path(settings):
    settings.TUTUM_ALLOW_HOST_PATHS = False
    assert fields_of(web(volumes=["data:/data"])).fields["bindings"][0]["host_path"] == "data"


# ---------------------------------------------------------------- export


def _service_with(**fields) -> Service:
    """An unsaved service whose related rows the exporter reads from prefetch-like lists."""
    return Service(image_repository="tutum/hello-world", image_tag_name="latest", name="web", **fields)


def test_export_of_defaults_is_only_the_image():
    assert _export_unsaved(_service_with()) == {"image": "tutum/hello-world:latest"}


def _export_unsaved(service):
    # No rows: the related lists are given as if prefetched, so nothing queries the database.
    service.pk = 1
    service._prefetched_objects_cache = {name: [] for name in ("envvars", "links_out", "ports", "bindings")}
    return export_service(service)


@pytest.mark.parametrize(
    "keys",
    [
        {"restart": "on-failure", "autodestroy": "on-success", "deployment_strategy": "high_availability"},
        {"target_num_containers": 3, "tags": ["a"], "roles": ["global"], "mem_limit": "512m", "memswap_limit": -1},
        {"command": "sh -c 'echo hi'", "entrypoint": "/e", "labels": {"a": "b"}, "dns": ["8.8.8.8"], "tty": True},
        {"working_dir": "/app", "user": "1000", "cpu_shares": 512, "cpuset": "0", "cap_drop": ["NET_RAW"]},
    ],
)
def test_export_reads_back_to_the_same_fields(keys):
    first = read_service("web", {"image": "tutum/hello-world", **keys}, USER).fields
    columns = {k: v for k, v in first.items() if k not in ("image", "name", "tags")}
    service = _service_with(**columns, tags=first.get("tags", []))
    exported = _export_unsaved(service)
    assert read_service("web", exported, USER).fields == first


# ---------------------------------------------------------------- the service API's names


def test_the_service_api_names_of_the_stack_documentation_read_as_the_dialect(settings):
    settings.TUTUM_ALLOW_HOST_PATHS = True
    dialect = {
        "image": "tutum/hello-world",
        "command": "run",
        "ports": ["8080:80"],
        "environment": ["A=1"],
        "links": ["db:DB", "cache.infra"],
        "volumes": ["/h:/c:ro"],
        "volumes_from": ["data"],
        "mem_limit": "64m",
        "memswap_limit": "128m",
        "tags": ["prod"],
    }
    api_form = {
        "image": "tutum/hello-world",
        "run_command": "run",
        "container_ports": [{"inner_port": "80", "outer_port": "8080", "protocol": "tcp", "published": True}],
        "container_envvars": [{"key": "A", "value": "1"}],
        "linked_to_service": [{"to_service": "db", "name": "DB"}, {"to_service": "cache.infra"}],
        "bindings": [{"host_path": "/h", "container_path": "/c", "rewritable": False}, {"volumes_from": "data"}],
        "memory": 64,
        "memory_swap": 128,
        "tags": [{"name": "prod"}],
    }
    first, second = read_service("web", dialect, USER), read_service("web", api_form, USER)
    assert first.fields == second.fields
    assert first.links == second.links and first.volumes_from == second.volumes_from


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"command": "a", "run_command": "b"}, "web: run_command: the service API's name for command"),
        ({"ports": ["80"], "container_ports": []}, "web: container_ports: the service API's name for ports"),
        ({"expose": ["80"], "container_ports": []}, "web: container_ports: give the ports either so or under"),
        ({"container_ports": [{"inner_port": "x"}]}, "web: container_ports: Expected an integer or a string of digits"),
        ({"container_ports": "80"}, "web: container_ports: expected a list of objects"),
        ({"linked_to_service": [{"name": "DB"}]}, "web: linked_to_service: None is not a service name"),
        ({"bindings": [{"host_path": "/h"}]}, "web: bindings: "),
        ({"memory": "64m"}, "web: memory: Expected an integer"),
    ],
)
def test_the_service_api_names_are_checked_under_their_own_key(keys, message, settings):
    settings.TUTUM_ALLOW_HOST_PATHS = True
    with pytest.raises(StackFileError) as caught:
        read_service("web", {"image": "nginx", **keys}, USER)
    assert any(message in line for line in caught.value.errors), caught.value.errors

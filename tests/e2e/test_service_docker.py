"""Every 2015 service field reaches the real Docker container (docker inspect proves it), and a redeploy
keeps or drops the container's volumes as `reuse_volumes` says."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from orchestrator.driver.base import LABEL_SERVICE

from .helpers import wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _inspect(docker_client, service_uuid) -> list[dict]:
    found = docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={service_uuid}"})
    return [c.attrs for c in sorted(found, key=lambda c: c.name)]


def _run(api, body, target=1) -> dict:
    response = api.post("/api/v1/service/", {"target_num_containers": target, **body}, format="json")
    assert response.status_code == 201, response.content
    service = response.json()
    assert api.post(f"{service['resource_uri']}start/").status_code == 202
    return wait_for_state(api, service["resource_uri"], "Running", timeout=90)


def test_every_docker_setting_of_a_service_is_in_the_container(worker, docker_client, api, user):
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)  # privileged, cap_add, security_opt, pid
    body = {
        "image": "local/busybox",
        "name": "full",
        "run_command": "sleep 3600",
        "container_ports": [
            {"inner_port": "80", "protocol": "tcp", "published": True},
            {"inner_port": "8080", "protocol": "tcp", "published": False},
        ],
        "container_envvars": [{"key": "GREETING", "value": "hello"}],
        "labels": {"team": "blue"},
        "working_dir": "/tmp",
        "user": "65534",
        "hostname": "fullhost",
        "domainname": "example.test",
        "tty": True,
        "stdin_open": True,
        "read_only": True,
        "privileged": True,
        "pid": "host",
        "dns": ["10.0.0.2"],
        "dns_search": ["example.test"],
        "cap_add": ["NET_ADMIN"],
        "cap_drop": ["MKNOD"],
        "extra_hosts": ["db.internal:10.0.0.3"],
        "security_opt": ["no-new-privileges"],
        "memory": 64,
        "memory_swap": 128,
        "cpu_shares": 300,
        "cpuset": "0",
        "bindings": [{"container_path": "/scratch"}, {"host_path": "shared", "container_path": "/shared"}],
    }
    service = _run(api, body)
    (attrs,) = _inspect(docker_client, service["uuid"])
    config, host = attrs["Config"], attrs["HostConfig"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["GREETING"] == "hello"
    assert env["TUTUM_SERVICE_API_URI"] == service["resource_uri"]
    assert env["TUTUM_CONTAINER_API_URI"] == service["containers"][0]
    assert env["TUTUM_SERVICE_HOSTNAME"] == "full" and env["TUTUM_CONTAINER_HOSTNAME"] == "full-1"
    assert env["TUTUM_REST_HOST"] == settings.TUTUM_API_URL
    assert env["TUTUM_NODE_API_URI"].startswith("/api/v1/node/")
    assert config["Labels"]["team"] == "blue"
    assert (config["WorkingDir"], config["User"], config["Hostname"], config["Domainname"]) == (
        "/tmp",
        "65534",
        "fullhost",
        "example.test",
    )
    assert (config["Tty"], config["OpenStdin"], config["Cmd"]) == (True, True, ["sleep", "3600"])
    assert set(config["ExposedPorts"]) == {"80/tcp", "8080/tcp"}
    assert set(host["PortBindings"]) == {"80/tcp"}
    assert host["PortBindings"]["80/tcp"][0]["HostIp"] == "127.0.0.1"
    assert (host["ReadonlyRootfs"], host["Privileged"], host["PidMode"]) == (True, True, "host")
    assert (host["Dns"], host["DnsSearch"], host["ExtraHosts"]) == (
        ["10.0.0.2"],
        ["example.test"],
        ["db.internal:10.0.0.3"],
    )
    assert (host["CapAdd"], host["CapDrop"]) == (["NET_ADMIN"], ["MKNOD"])
    assert "no-new-privileges" in host["SecurityOpt"]  # beside Docker's own label=disable for privileged
    assert (host["Memory"], host["MemorySwap"]) == (64 * 1024 * 1024, 128 * 1024 * 1024)
    assert (host["CpuShares"], host["CpusetCpus"]) == (300, "0")
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert mounts["/scratch"]["Type"] == "volume"
    assert mounts["/shared"]["Name"] == f"{settings.TUTUM_INSTANCE}-alice-shared"
    container = api.get(service["containers"][0]).json()
    assert container["state"] == "Running"
    assert api.delete(service["resource_uri"]).status_code == 202
    wait_for_state(api, service["resource_uri"], "Terminated", timeout=60)
    docker_client.volumes.get(f"{settings.TUTUM_INSTANCE}-alice-shared").remove(force=True)


def test_fixed_outer_port_and_host_network(worker, docker_client, api, user, settings):
    from .helpers import free_port

    port = free_port()
    service = _run(
        api,
        {
            "image": "local/httpd",
            "name": "fixed",
            "container_ports": [{"inner_port": "80", "outer_port": str(port), "protocol": "tcp", "published": True}],
        },
    )
    (attrs,) = _inspect(docker_client, service["uuid"])
    assert attrs["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert api.delete(service["resource_uri"]).status_code == 202
    wait_for_state(api, service["resource_uri"], "Terminated", timeout=60)


def test_2015_links_give_alias_variables_at_the_private_address(worker, docker_client, api):
    db = _run(
        api,
        {
            "image": "local/httpd",
            "name": "db",
            "container_ports": [{"inner_port": "80", "protocol": "tcp", "published": False}],
            "container_envvars": [{"key": "DB_USER", "value": "admin"}],
        },
    )
    web = _run(
        api,
        {
            "image": "local/busybox",
            "name": "web",
            "run_command": "sleep 3600",
            "linked_to_service": [{"to_service": "db", "name": "database"}],
        },
    )
    (db_attrs,) = _inspect(docker_client, db["uuid"])
    (web_attrs,) = _inspect(docker_client, web["uuid"])
    address = db_attrs["NetworkSettings"]["IPAddress"]
    env = dict(item.split("=", 1) for item in web_attrs["Config"]["Env"])
    assert env["DATABASE_PORT_80_TCP_ADDR"] == address
    assert env["DATABASE_1_PORT_80_TCP"] == f"tcp://{address}:80"
    assert env["DATABASE_ENV_DB_USER"] == "admin" and env["DATABASE_1_ENV_DB_USER"] == "admin"
    assert env["DATABASE_TUTUM_API_URL"].endswith(db["resource_uri"])
    container = api.get(db["containers"][0]).json()
    assert container["state"] == "Running"
    # The linked container answers on its private address from inside the linking one.
    web_container = docker_client.containers.get(web_attrs["Id"])
    result = web_container.exec_run(["wget", "-q", "-O", "-", f"http://{address}:80/"])
    assert result.exit_code == 0, result.output
    # And by name: the link's alias, the linked service's name and its container's name.
    for host in ("database", "db", "db-1"):
        result = web_container.exec_run(["wget", "-q", "-O", "-", f"http://{host}:80/"])
        assert result.exit_code == 0, (host, result.output)
    for service in (web, db):
        assert api.delete(service["resource_uri"]).status_code == 202
        wait_for_state(api, service["resource_uri"], "Terminated", timeout=60)


@pytest.mark.parametrize("reuse, survives", [("True", True), ("False", False)])
def test_redeploy_keeps_volume_data_only_with_reuse_volumes(worker, docker_client, api, reuse, survives):
    service = _run(
        api,
        {
            "image": "local/busybox",
            "name": "vol",
            "run_command": "sleep 3600",
            "bindings": [{"container_path": "/data"}],
        },
    )
    (before,) = _inspect(docker_client, service["uuid"])
    docker_client.containers.get(before["Id"]).exec_run(["sh", "-c", "echo kept > /data/file"])
    response = api.post(f"{service['resource_uri']}redeploy/?reuse_volumes={reuse}")
    assert response.status_code == 202, response.content
    wait_for_state(api, service["resource_uri"], "Running", timeout=90)
    (after,) = _inspect(docker_client, service["uuid"])
    assert after["Id"] != before["Id"]
    read = docker_client.containers.get(after["Id"]).exec_run(["cat", "/data/file"])
    assert (read.exit_code == 0 and read.output.strip() == b"kept") is survives, read
    assert api.delete(service["resource_uri"]).status_code == 202
    wait_for_state(api, service["resource_uri"], "Terminated", timeout=60)


def test_sequential_deployment_starts_one_container_after_the_other(worker, docker_client, api):
    service = _run(
        api,
        {"image": "local/busybox", "name": "seq", "run_command": "sleep 3600", "sequential_deployment": True},
        target=3,
    )
    attrs = sorted(_inspect(docker_client, service["uuid"]), key=lambda a: a["Created"])
    assert [a["Name"].rsplit("-", 2)[-2] for a in attrs] == ["1", "2", "3"]  # created in number order
    for earlier, later in zip(attrs, attrs[1:], strict=False):
        # Each is created only once the one before it runs.
        assert later["Created"] > earlier["State"]["StartedAt"], (earlier["Name"], later["Name"])
    assert api.delete(service["resource_uri"]).status_code == 202
    wait_for_state(api, service["resource_uri"], "Terminated", timeout=60)

"""The final CLI (tutum 0.21.1, unmodified, Python 2.7) drives a stack from a tutum.yml through its whole life:
`stack up --sync`, `list`, `inspect`, `export`, `update`, `redeploy`, `terminate`, against the real worker
and engine."""

import json

import pytest
import yaml

from orchestrator.driver.base import LABEL_SERVICE

from .final_clients import final_cli, final_clients  # noqa: F401 (fixtures)
from .helpers import wait_for_state
from .test_official_clients import short_uuid_shown, table

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TUTUM_YML = """\
db:
  image: local/httpd
  expose:
    - "80"
  environment:
    - DB_USER=admin
web:
  image: local/busybox
  command: sleep 3600
  links:
    - db:database
  environment:
    COLOUR: blue
  restart: on-failure
"""


def _ids(docker_client, services: dict[str, str]) -> dict[str, list[str]]:
    """Service name -> the Docker ids of its containers."""
    ids = {}
    for name, uuid in services.items():
        found = docker_client.containers.list(all=True, filters={"label": f"{LABEL_SERVICE}={uuid}"})
        ids[name] = sorted(c.id for c in found)
    return ids


def test_the_final_cli_runs_a_stack_from_a_stack_file(worker, docker_client, api, final_cli):  # noqa: F811
    stackfile = final_cli.home / "tutum.yml"
    stackfile.write_text(TUTUM_YML)

    out = final_cli.ok("stack", "up", "-f", "tutum.yml", "-n", "shop", "--sync", timeout=240)
    stack_uuid = out.strip().splitlines()[-1]
    assert "Success" in out, out  # --sync polled the start's action until it succeeded
    uri = f"/api/v1/stack/{stack_uuid}/"
    stack = wait_for_state(api, uri, "Running", timeout=120)
    services = {api.get(u).json()["name"]: api.get(u).json()["uuid"] for u in stack["services"]}
    assert set(services) == {"db", "web"}

    (row,) = table(final_cli.ok("stack", "list"))
    assert row["NAME"] == "shop" and short_uuid_shown(row["UUID"], stack_uuid)
    assert "Running" in row["STATUS"]

    inspected = json.loads(final_cli.ok("stack", "inspect", "shop"))
    assert inspected["uuid"] == stack_uuid and inspected["state"] == "Running"
    assert sorted(inspected["services"]) == sorted(stack["services"])

    final_cli.ok("stack", "export", "-f", "exported.yml", "shop")
    exported = yaml.safe_load((final_cli.home / "exported.yml").read_text())
    assert exported["web"]["links"] == ["db:database"]
    assert exported["web"]["restart"] == "on-failure"
    assert exported["db"]["expose"] == ["80"]
    before = _ids(docker_client, services)

    # The exported file sent back changes nothing; then the file with web's environment changed.
    assert final_cli.ok("stack", "update", "-f", "exported.yml", "shop").strip() == stack_uuid
    assert api.get(uri).json()["synchronized"] is True
    stackfile.write_text(TUTUM_YML.replace("COLOUR: blue", "COLOUR: green"))
    assert final_cli.ok("stack", "update", "-f", "tutum.yml", "shop").strip() == stack_uuid
    assert api.get(uri).json()["synchronized"] is False

    out = final_cli.ok("stack", "redeploy", "shop", "--sync", timeout=240)
    assert out.strip().splitlines()[-1] == stack_uuid
    stack = wait_for_state(api, uri, "Running", timeout=120)
    assert stack["synchronized"] is True
    after = _ids(docker_client, services)
    assert after["db"] == before["db"] and after["web"] != before["web"]

    out = final_cli.ok("stack", "terminate", "shop", "--sync", timeout=240)
    assert out.strip().splitlines()[-1] == stack_uuid
    wait_for_state(api, uri, "Terminated", timeout=90)
    assert all(ids == [] for ids in _ids(docker_client, services).values())
    (row,) = table(final_cli.ok("stack", "list"))
    assert "Terminated" in row["STATUS"]

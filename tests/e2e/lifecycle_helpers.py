"""Small helpers shared by the lifecycle e2e tests: create through the API, find the Docker side."""

from django.conf import settings

from orchestrator.driver.base import LABEL_INSTANCE, LABEL_SERVICE

# busybox sh as PID 1 exits 0 on SIGTERM once it has a trap: a stop is clean within the 2 s stop timeout.
CLEAN_STOP_COMMAND = "sh -c 'trap \"exit 0\" TERM; while true; do sleep 1; done'"
# The plainest long-running application: what the fault and self-healing tests run.
SLEEPER = {"image": "local/busybox", "run_command": "sleep 3600"}


def create_service(api, **fields):
    response = api.post("/api/v1/application/", fields, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def docker_containers(docker_client, application_uuid, running_only=False):
    filters = {"label": [f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}", f"{LABEL_SERVICE}={application_uuid}"]}
    return docker_client.containers.list(all=not running_only, filters=filters)


def docker_name(unique_name, username="alice"):
    name = f"{unique_name}-{username}"
    return name if settings.TUTUM_INSTANCE == "default" else f"{settings.TUTUM_INSTANCE}-{name}"


def docker_env(docker_container):
    return dict(item.split("=", 1) for item in docker_container.attrs["Config"]["Env"])


def docker_exec_env(docker_container):
    exit_code, output = docker_container.exec_run(["env"])
    assert exit_code == 0, output
    return dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)


def api_containers(api, service):
    """The application's containers as the API's detail shows them (live ones), each read by its URI."""
    body = api.get(service["resource_uri"]).json()
    return [api.get(uri).json() for uri in body["containers"]]


def listed_container_uuids(api, application_uuid, **filters):
    query = {"application__uuid": application_uuid, "limit": 100, **filters}
    body = api.get("/api/v1/container/", query).json()
    return sorted(c["uuid"] for c in body["objects"])

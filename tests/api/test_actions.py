"""Actions on Postgres, with no worker: what every changing request records, the action API, and how the
controller's settle steps finish actions (called directly here on container rows in given states)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apps.actions.choices import ActionState
from apps.actions.context import mask_secrets
from apps.actions.models import Action, ActionLog
from apps.actions.recording import finish_container_actions
from apps.services.models import Service
from apps.services.services import _settle_service

from .app_support import AS, CS, RFC2822, app_uri, container_uri, make_application, set_state

pytestmark = pytest.mark.django_db

HEADER = "X-Tutum-Action-URI"
ACTION_KEYS = {
    "resource_uri",
    "uuid",
    "object",
    "action",
    "method",
    "path",
    "user_agent",
    "body",
    "ip",
    "location",
    "state",
    "start_date",
    "end_date",
    "is_user_action",
    "can_be_canceled",
    "can_be_retried",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def service_uri(service) -> str:
    return f"/api/v1/service/{service.uuid}/"


def action_of(api, response) -> dict:
    """The action named by a response's X-Tutum-Action-URI, read through the API."""
    assert HEADER in response, f"no {HEADER} on {response.status_code}: {response.content[:200]}"
    uri = response[HEADER]
    assert uri.startswith("/api/v1/action/") and uri.endswith("/")
    body = api.get(uri)
    assert body.status_code == 200, body.content
    return body.json()


def log_lines(action_uuid) -> list[str]:
    return list(ActionLog.objects.filter(action__uuid=action_uuid).values_list("line", flat=True))


# ---------------------------------------------------------------- recording


def test_a_2014_create_records_an_in_progress_action_with_the_call(api, user):
    response = api.post(
        "/api/v1/application/?x=1",
        {"image": "tutum/hello-world", "name": "web", "target_num_containers": 2},
        format="json",
        HTTP_USER_AGENT="tutum-cli/0.6.4",
    )
    assert response.status_code == 202, response.content
    action = action_of(api, response)
    assert set(action) == ACTION_KEYS
    service_uuid = response.json()["uuid"]
    assert action["object"] == f"/api/v1/service/{service_uuid}/"
    assert action["object"].strip("/").split("/", 3)[3] == service_uuid  # the CLI's TARGET column
    assert action["action"] == "Service Create"
    assert action["method"] == "POST"
    assert action["path"] == "/api/v1/application/?x=1"
    assert action["user_agent"] == "tutum-cli/0.6.4"
    assert json.loads(action["body"]) == {"image": "tutum/hello-world", "name": "web", "target_num_containers": 2}
    assert action["ip"] == "127.0.0.1"
    assert action["location"] == ""
    assert action["state"] == "In progress"
    assert RFC2822.match(action["start_date"]) and action["end_date"] is None
    assert action["is_user_action"] is True
    assert action["can_be_canceled"] is True
    assert action["can_be_retried"] is False  # a create is not repeated
    assert action["resource_uri"] == f"/api/v1/action/{action['uuid']}/"
    assert log_lines(action["uuid"]) == ["Service Create: Service web is Starting; waiting for the work to be done."]


def test_secrets_in_the_body_are_masked(api, user):
    response = api.post(
        "/api/v1/application/",
        {
            "image": "tutum/hello-world",
            "name": "db",
            "container_envvars": [{"key": "DB_PASSWORD", "value": "hunter2"}, {"key": "MODE", "value": "dev"}],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    action = action_of(api, response)
    assert "hunter2" not in action["body"]
    assert json.loads(action["body"])["container_envvars"] == [
        {"key": "DB_PASSWORD", "value": "********"},
        {"key": "MODE", "value": "dev"},
    ]
    assert "hunter2" not in Action.objects.get(uuid=action["uuid"]).body


def test_mask_secrets_masks_secret_keys_at_any_depth():
    body = {
        "name": "web",
        "password": "p",
        "registry": {"username": "u", "api_key": "k", "token": "t"},
        "items": [{"secret": "s", "key": "AWS_SECRET_ACCESS_KEY", "value": "v"}, {"key": "HOME", "value": "/"}],
        "autorestart": "ALWAYS",
    }
    assert mask_secrets(body) == {
        "name": "web",
        "password": "********",
        "registry": {"username": "u", "api_key": "********", "token": "********"},
        "items": [
            {"secret": "********", "key": "AWS_SECRET_ACCESS_KEY", "value": "********"},
            {"key": "HOME", "value": "/"},
        ],
        "autorestart": "ALWAYS",
    }


def test_a_start_of_what_runs_is_success_at_once(api, user):
    service = make_application(user, state=AS.RUNNING)
    response = api.post(f"{app_uri(service)}start/")
    assert response.status_code == 202
    action = action_of(api, response)
    assert action["action"] == "Service Start"
    assert action["state"] == "Success"
    assert RFC2822.match(action["end_date"])
    assert action["can_be_canceled"] is False and action["can_be_retried"] is True
    assert action["body"] == ""


def test_a_stop_of_a_running_application_is_in_progress(api, user):
    service = make_application(user, state=AS.RUNNING, containers=2)
    response = api.post(f"{app_uri(service)}stop/")
    action = action_of(api, response)
    assert (action["action"], action["state"]) == ("Service Stop", "In progress")
    assert action["object"] == service_uri(service)


@pytest.mark.parametrize(
    "method, suffix, payload, name, state",
    [
        ("patch", "", {"autorestart": "ALWAYS"}, "Service Update", "Success"),
        ("patch", "", {"target_num_containers": 3}, "Service Update", "In progress"),
        ("post", "redeploy/", None, "Service Redeploy", "In progress"),
        ("delete", "", None, "Service Terminate", "In progress"),
    ],
)
def test_every_changing_2014_request_carries_its_action(api, user, method, suffix, payload, name, state):
    service = make_application(user, state=AS.RUNNING)
    response = getattr(api, method)(f"{app_uri(service)}{suffix}", payload, format="json")
    assert response.status_code == 202, response.content
    action = action_of(api, response)
    assert (action["action"], action["state"], action["method"]) == (name, state, method.upper())


@pytest.mark.parametrize(
    "method, suffix, name",
    [("post", "stop/", "Container Stop"), ("delete", "", "Container Terminate")],
)
def test_container_requests_carry_their_action(api, user, method, suffix, name):
    service = make_application(user, state=AS.RUNNING)
    container = service.containers.get()
    response = getattr(api, method)(f"{container_uri(container)}{suffix}")
    assert response.status_code == 202, response.content
    action = action_of(api, response)
    assert action["action"] == name
    assert action["object"] == container_uri(container)
    assert action["state"] == "In progress"


def test_a_refused_request_records_nothing(api, user):
    service = make_application(user, state=AS.TERMINATED, container_state=CS.TERMINATED)
    response = api.post(f"{app_uri(service)}start/")
    assert response.status_code == 400
    assert HEADER not in response
    invalid = api.post("/api/v1/application/", {"image": "tutum/hello-world", "name": 3}, format="json")
    assert invalid.status_code == 400
    assert HEADER not in invalid
    assert not Action.objects.exists()


def test_reads_carry_no_action(api, user):
    service = make_application(user)
    for uri in (app_uri(service), "/api/v1/application/", "/api/v1/action/"):
        response = api.get(uri)
        assert response.status_code == 200
        assert HEADER not in response
    assert not Action.objects.exists()


def test_a_use_case_run_outside_a_request_records_a_non_user_action(user):
    from apps.services.services import stop_service

    service = make_application(user, state=AS.RUNNING)
    stop_service(service)
    action = Action.objects.get()
    assert (action.action, action.state, action.is_user_action) == ("Service Stop", "In progress", False)
    assert (action.method, action.path, action.ip, action.body) == ("", "", "", "")


# ---------------------------------------------------------------- the action API


def _actions(owner, count, **fields) -> list[Action]:
    start = datetime(2015, 12, 1, 12, 0, tzinfo=UTC)
    return [
        Action.objects.create(
            owner=owner,
            object=f"/api/v1/service/{uuid.uuid4()}/",
            target_kind="service",
            target_uuid=uuid.uuid4(),
            action="Service Start",
            start_date=start + timedelta(minutes=n),
            **fields,
        )
        for n in range(count)
    ]


def test_the_list_is_newest_first_25_a_page_in_the_list_envelope(api, user):
    made = _actions(user, 30)
    body = api.get("/api/v1/action/").json()
    assert body["meta"]["limit"] == 25 and body["meta"]["total_count"] == 30
    assert body["meta"]["next"] == "/api/v1/action/?limit=25&offset=25"
    assert [a["uuid"] for a in body["objects"]] == [str(a.uuid) for a in reversed(made)][:25]
    assert body["objects"][0]["start_date"] == "Tue, 1 Dec 2015 12:29:00 +0000"
    assert set(body["objects"][0]) == ACTION_KEYS


def test_the_list_query_count_does_not_grow_with_the_page(api, user, django_assert_max_num_queries):
    _actions(user, 3)
    with django_assert_max_num_queries(3):  # the key check, the page (no count: it ends the list)
        assert len(api.get("/api/v1/action/").json()["objects"]) == 3
    _actions(user, 60)
    with django_assert_max_num_queries(4):  # ... and the count
        assert len(api.get("/api/v1/action/?limit=50").json()["objects"]) == 50


def test_filters(api, user):
    first, second, third = _actions(user, 3)
    Action.objects.filter(pk=first.pk).update(state=ActionState.SUCCESS, end_date=first.start_date)
    Action.objects.filter(pk=second.pk).update(state=ActionState.FAILED, end_date=second.start_date)

    def listed(query) -> list[str]:
        response = api.get(f"/api/v1/action/?{query}")
        assert response.status_code == 200, response.content
        return [a["uuid"] for a in response.json()["objects"]]

    assert listed(f"uuid={first.uuid}") == [str(first.uuid)]
    assert listed(f"uuid__startswith={str(second.uuid)[:8]}") == [str(second.uuid)]
    assert listed("state=In%20progress") == [str(third.uuid)]
    assert listed("state=Success") == [str(first.uuid)]
    assert listed(f"object={third.object}") == [str(third.uuid)]
    assert listed("start_date__gte=Tue, 1 Dec 2015 12:01:00 +0000") == [str(third.uuid), str(second.uuid)]
    assert listed("start_date__lte=2015-12-01T12:01:00Z") == [str(second.uuid), str(first.uuid)]
    assert listed("end_date__gte=2015-12-01 12:01:00") == [str(second.uuid)]
    assert listed("end_date__lte=Tue, 1 Dec 2015 12:00:30 +0000") == [str(first.uuid)]


@pytest.mark.parametrize("query", ["state=Done", "start_date__gte=yesterday", "uuid=nope", "end_date__lte=2015-13-45"])
def test_a_bad_filter_is_400(api, user, query):
    _actions(user, 1)
    response = api.get(f"/api/v1/action/?{query}")
    assert response.status_code == 400, response.content
    assert "error" in response.json()


def test_another_users_action_is_404_everywhere(api, other_user):
    (theirs,) = _actions(other_user, 1)
    uri = f"/api/v1/action/{theirs.uuid}/"
    assert api.get(uri).status_code == 404
    assert api.post(f"{uri}cancel/").status_code == 404
    assert api.post(f"{uri}retry/").status_code == 404
    assert api.get("/api/v1/action/").json()["objects"] == []
    assert Action.objects.get(pk=theirs.pk).state == ActionState.IN_PROGRESS


def test_actions_need_credentials(make_client, user):
    (mine,) = _actions(user, 1)
    anonymous = make_client()
    assert anonymous.get("/api/v1/action/").status_code == 401
    assert anonymous.get(f"/api/v1/action/{mine.uuid}/").status_code == 401
    assert anonymous.post(f"/api/v1/action/{mine.uuid}/cancel/").status_code == 401


def test_cancel_an_in_progress_action(api, user):
    service = make_application(user, state=AS.RUNNING)
    action = action_of(api, api.post(f"{app_uri(service)}stop/"))
    response = api.post(f"{action['resource_uri']}cancel/")
    assert response.status_code == 200, response.content
    canceled = response.json()
    assert canceled["state"] == "Canceled"
    assert RFC2822.match(canceled["end_date"])
    assert canceled["can_be_canceled"] is False and canceled["can_be_retried"] is True
    assert "nothing is undone" in log_lines(action["uuid"])[-1]
    # The work goes on: the service keeps being stopped, and its settling leaves the canceled action alone.
    service.refresh_from_db()
    assert service.state == AS.STOPPING
    set_state(service.containers.get(), CS.STOPPED, stopped_on_request=True)
    assert _settle_service(service.pk).state == AS.STOPPED
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.CANCELED


@pytest.mark.parametrize("state", [ActionState.SUCCESS, ActionState.FAILED, ActionState.CANCELED])
def test_cancel_of_a_finished_action_is_400(api, user, state):
    (action,) = _actions(user, 1, state=state)
    response = api.post(f"/api/v1/action/{action.uuid}/cancel/")
    assert response.status_code == 400
    assert state in response.json()["error"]


def test_retry_repeats_the_use_case_as_a_new_action(api, user):
    service = make_application(user, state=AS.RUNNING)
    first = action_of(api, api.post(f"{app_uri(service)}stop/"))
    set_state(service.containers.get(), CS.STOPPED, stopped_on_request=True)
    _settle_service(service.pk)
    assert Action.objects.get(uuid=first["uuid"]).state == ActionState.SUCCESS
    api.post(f"{app_uri(service)}start/")  # someone starts it again
    set_state(service.containers.get(), CS.RUNNING)
    assert _settle_service(service.pk).state == AS.RUNNING
    response = api.post(f"{first['resource_uri']}retry/")
    assert response.status_code == 202, response.content
    retried = response.json()
    assert retried["uuid"] != first["uuid"]
    assert response[HEADER] == retried["resource_uri"]
    assert (retried["action"], retried["state"], retried["object"]) == ("Service Stop", "In progress", first["object"])
    assert retried["path"] == f"{first['resource_uri']}retry/"
    service.refresh_from_db()
    assert service.state == AS.STOPPING
    assert Action.objects.get(uuid=first["uuid"]).state == ActionState.SUCCESS


def test_retry_passes_the_arguments_again(api, user):
    service = make_application(user, state=AS.RUNNING)
    first = action_of(api, api.post(f"{app_uri(service)}redeploy/", {"tag": "v2"}, format="json"))
    Action.objects.filter(uuid=first["uuid"]).update(state=ActionState.FAILED)
    Service.objects.filter(pk=service.pk).update(state=AS.RUNNING, image_tag_name="latest")
    response = api.post(f"{first['resource_uri']}retry/")
    assert response.status_code == 202, response.content
    service.refresh_from_db()
    assert (service.state, service.image_tag_name) == (AS.REDEPLOYING, "v2")


def test_retry_of_a_container_action(api, user):
    service = make_application(user, state=AS.RUNNING)
    container = service.containers.get()
    first = action_of(api, api.post(f"{container_uri(container)}stop/"))
    api.post(f"{first['resource_uri']}cancel/")
    set_state(container, CS.RUNNING)
    response = api.post(f"{first['resource_uri']}retry/")
    assert response.status_code == 202, response.content
    assert response.json()["action"] == "Container Stop"
    container.refresh_from_db()
    assert container.state == CS.STOPPING


def test_retry_rules(api, user):
    service = make_application(user, state=AS.RUNNING)
    open_action = action_of(api, api.post(f"{app_uri(service)}stop/"))
    response = api.post(f"{open_action['resource_uri']}retry/")
    assert response.status_code == 400 and "In progress" in response.json()["error"]
    create = action_of(
        api, api.post("/api/v1/application/", {"image": "tutum/hello-world", "name": "x"}, format="json")
    )
    Action.objects.filter(uuid=create["uuid"]).update(state=ActionState.SUCCESS)
    response = api.post(f"{create['resource_uri']}retry/")
    assert response.status_code == 400 and "cannot be retried" in response.json()["error"]
    # A retry the object's state refuses is the use case's 400, and records nothing.
    Action.objects.filter(uuid=open_action["uuid"]).update(state=ActionState.FAILED)
    set_state(service, AS.TERMINATED)
    before = Action.objects.count()
    response = api.post(f"{open_action['resource_uri']}retry/")
    assert response.status_code == 400 and "Terminated" in response.json()["error"]
    assert Action.objects.count() == before


# ---------------------------------------------------------------- finishing


def _start_action(api, service) -> dict:
    action = action_of(api, api.post(f"{app_uri(service)}start/"))
    assert action["state"] == "In progress"
    return action


def test_a_start_succeeds_when_every_container_runs(api, user):
    service = make_application(user, state=AS.STOPPED, containers=2)
    action = _start_action(api, service)
    first, second = service.containers.order_by("number")
    set_state(first, CS.RUNNING)
    assert _settle_service(service.pk).state == AS.STARTING  # the second still has work
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.IN_PROGRESS
    set_state(second, CS.RUNNING)
    assert _settle_service(service.pk).state == AS.RUNNING
    finished = api.get(action["resource_uri"]).json()
    assert finished["state"] == "Success" and RFC2822.match(finished["end_date"])
    assert log_lines(action["uuid"])[-1] == "Service web is Running."


def test_a_start_that_fails_is_failed_with_the_reason(api, user):
    service = make_application(user, state=AS.STOPPED, containers=2)
    action = _start_action(api, service)
    first, second = service.containers.order_by("number")
    set_state(first, CS.RUNNING)
    set_state(second, CS.START_FAILED, exit_code_msg="image not found: tutum/hello-world:nope")
    assert _settle_service(service.pk).state == AS.PARTLY_RUNNING
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.FAILED
    assert log_lines(action["uuid"])[-2:] == [
        "Service web is Partly running, not Running.",
        "web-2: Start failed: image not found: tutum/hello-world:nope",
    ]


@pytest.mark.parametrize(
    "suffix, method, container_state, outcome",
    [
        ("stop/", "post", CS.STOPPED, ActionState.SUCCESS),
        ("", "delete", CS.TERMINATED, ActionState.SUCCESS),
        ("redeploy/", "post", CS.RUNNING, ActionState.SUCCESS),
        ("redeploy/", "post", CS.STOPPED, ActionState.FAILED),
    ],
)
def test_stop_terminate_redeploy_finish_on_the_state_they_asked_for(
    api, user, suffix, method, container_state, outcome
):
    service = make_application(user, state=AS.RUNNING)
    action = action_of(api, getattr(api, method)(f"{app_uri(service)}{suffix}"))
    assert action["state"] == "In progress"
    service.refresh_from_db()
    set_state(service.containers.get(), container_state, generation=service.generation)
    _settle_service(service.pk)
    assert Action.objects.get(uuid=action["uuid"]).state == outcome


def test_a_scale_to_zero_succeeds_when_stopped(api, user):
    service = make_application(user, state=AS.RUNNING, containers=2)
    action = action_of(api, api.patch(app_uri(service), {"target_num_containers": 0}, format="json"))
    assert action["state"] == "In progress"
    for container in service.containers.all():
        set_state(container, CS.TERMINATED)
    assert _settle_service(service.pk).state == AS.STOPPED
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.SUCCESS


def test_a_start_overtaken_by_a_terminate_fails(api, user):
    service = make_application(user, state=AS.STOPPED)
    start = _start_action(api, service)
    terminate = action_of(api, api.delete(app_uri(service)))
    set_state(service.containers.get(), CS.TERMINATED)
    assert _settle_service(service.pk).state == AS.TERMINATED
    assert Action.objects.get(uuid=start["uuid"]).state == ActionState.FAILED
    assert Action.objects.get(uuid=terminate["uuid"]).state == ActionState.SUCCESS
    assert log_lines(start["uuid"])[-1] == "Service web is Terminated, not Running."


def test_a_container_action_finishes_at_the_end_of_its_step(api, user):
    service = make_application(user, state=AS.STOPPED)
    container = service.containers.get()
    action = action_of(api, api.post(f"{container_uri(container)}start/"))
    assert action["state"] == "In progress"
    finish_container_actions(container.uuid)  # still Starting: nothing to finish
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.IN_PROGRESS
    set_state(container, CS.STOPPED, exit_code=1, exit_code_msg="Exit code 1 (Failure)")
    finish_container_actions(container.uuid)
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.FAILED
    assert log_lines(action["uuid"])[-1] == "Container web-1 is Stopped, not Running: Exit code 1 (Failure)."


def test_a_container_action_the_step_missed_finishes_when_its_service_settles(api, user):
    service = make_application(user, state=AS.RUNNING)
    container = service.containers.get()
    action = action_of(api, api.post(f"{container_uri(container)}stop/"))
    set_state(container, CS.STOPPED, exit_code=0)
    _settle_service(service.pk)
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.SUCCESS


# ---------------------------------------------------------------- the 2015 face


def test_the_2015_service_requests_carry_their_actions(api, user):
    response = api.post("/api/v1/service/", {"image": "tutum/hello-world", "name": "web"}, format="json")
    assert response.status_code == 201, response.content
    service = response.json()
    created = action_of(api, response)
    assert (created["action"], created["state"]) == ("Service Create", "Success")  # Not running: nothing to do
    assert created["object"] == service["resource_uri"]

    patched = api.patch(service["resource_uri"], {"target_num_containers": 3}, format="json")
    assert patched.status_code == 200, patched.content
    assert (action_of(api, patched)["action"], action_of(api, patched)["state"]) == ("Service Update", "Success")

    started = action_of(api, api.post(f"{service['resource_uri']}start/"))
    assert (started["action"], started["state"]) == ("Service Start", "In progress")
    assert started["user_agent"] == "" and started["body"] == ""


def test_a_2015_redeploy_is_retried_with_its_reuse_volumes(api, user):
    service = make_application(user, state=AS.RUNNING)
    response = api.post(f"{service_uri(service)}redeploy/?reuse_volumes=False")
    assert response.status_code == 202, response.content
    first = action_of(api, response)
    assert first["path"] == f"{service_uri(service)}redeploy/?reuse_volumes=False"
    Action.objects.filter(uuid=first["uuid"]).update(state=ActionState.FAILED)
    Service.objects.filter(pk=service.pk).update(state=AS.RUNNING, reuse_volumes=True)
    assert api.post(f"{first['resource_uri']}retry/").status_code == 202
    service.refresh_from_db()
    assert (service.state, service.reuse_volumes) == (AS.REDEPLOYING, False)


def test_a_2015_scale_finishes_when_the_new_containers_run(api, user):
    service = make_application(user, state=AS.RUNNING, containers=1)
    api.patch(service_uri(service), {"target_num_containers": 2}, format="json")
    action = action_of(api, api.post(f"{service_uri(service)}scale/"))
    assert (action["action"], action["state"]) == ("Service Scale", "In progress")
    for container in service.containers.all():
        set_state(container, CS.RUNNING)
    assert _settle_service(service.pk).state == AS.RUNNING
    assert Action.objects.get(uuid=action["uuid"]).state == ActionState.SUCCESS


def test_include_related_adds_the_actions_of_related_objects(api, user):
    service = make_application(user, state=AS.RUNNING, containers=2)
    first, second = service.containers.order_by("number")
    other = make_application(user, "db", state=AS.RUNNING)
    on_service = action_of(api, api.patch(app_uri(service), {"autorestart": "ALWAYS"}, format="json"))
    on_first = action_of(api, api.post(f"{container_uri(first)}stop/"))
    on_second = action_of(api, api.post(f"{container_uri(second)}stop/"))
    action_of(api, api.patch(app_uri(other), {"autorestart": "ALWAYS"}, format="json"))

    def listed(query) -> set[str]:
        response = api.get("/api/v1/action/", query)
        assert response.status_code == 200, response.content
        return {a["uuid"] for a in response.json()["objects"]}

    uri = service_uri(service)
    assert listed({"object": uri}) == {on_service["uuid"]}
    assert listed({"object": uri, "include_related": "false"}) == {on_service["uuid"]}
    everything = {on_service["uuid"], on_first["uuid"], on_second["uuid"]}
    assert listed({"object": uri, "include_related": "true"}) == everything
    assert listed({"object": app_uri(service), "include_related": "True"}) == everything
    # A container's related objects are its service (and stack), not its siblings.
    assert listed({"object": container_uri(first), "include_related": "true"}) == {on_service["uuid"], on_first["uuid"]}
    response = api.get("/api/v1/action/", {"object": uri, "include_related": "maybe"})
    assert response.status_code == 400 and "include_related" in response.json()["fields"]


# ---------------------------------------------------------------- stacks


def test_a_stack_request_records_one_stack_action_finished_when_the_stack_runs(api, user):
    from apps.stacks.services import settle_stack

    body = {"name": "shop", "services": [{"name": "web", "image": "tutum/hello-world"}, {"name": "db", "image": "x"}]}
    response = api.post("/api/v1/stack/", body, format="json")
    assert response.status_code in (200, 201, 202), response.content
    stack = response.json()
    created = action_of(api, response)
    assert (created["action"], created["state"]) == ("Stack Create", "Success")
    assert created["object"] == stack["resource_uri"]
    assert Action.objects.count() == 1  # the services it created are part of it

    response = api.post(f"{stack['resource_uri']}start/")
    assert response.status_code == 202, response.content
    started = action_of(api, response)
    assert (started["action"], started["state"]) == ("Stack Start", "In progress")
    assert Action.objects.count() == 2
    services = list(Service.objects.filter(stack__uuid=stack["uuid"]).order_by("id"))
    for service in services:
        for container in service.containers.all():
            set_state(container, CS.RUNNING)
        _settle_service(service.pk)
        settle_stack(service.stack_id)
        expected = ActionState.SUCCESS if service == services[-1] else ActionState.IN_PROGRESS
        assert Action.objects.get(uuid=started["uuid"]).state == expected
    assert log_lines(started["uuid"])[-1] == "Stack shop is Running."


def test_a_stack_action_is_retried_on_the_stack(api, user):
    body = {"name": "shop", "services": [{"name": "web", "image": "tutum/hello-world"}]}
    stack = api.post("/api/v1/stack/", body, format="json").json()
    started = action_of(api, api.post(f"{stack['resource_uri']}start/"))
    assert api.post(f"{started['resource_uri']}cancel/").status_code == 200
    api.post(f"{stack['resource_uri']}stop/")  # while it starts: a no-op or a 400, whichever the stack says
    response = api.post(f"{started['resource_uri']}retry/")
    assert response.status_code == 202, response.content
    retried = response.json()
    assert (retried["action"], retried["object"]) == ("Stack Start", stack["resource_uri"])
    assert retried["uuid"] != started["uuid"]

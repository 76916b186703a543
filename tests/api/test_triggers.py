"""A service's triggers on Postgres, with no worker: adding, listing, revoking, and calling them without
credentials (the trigger's uuid is the secret)."""

import uuid

import pytest

from apps.actions.models import Action, Trigger
from apps.services.models import Service

from .app_support import AS, CS, make_application, set_state

pytestmark = pytest.mark.django_db

HEADER = "X-Tutum-Action-URI"
TRIGGER_KEYS = {"url", "operation", "name", "resource_uri", "uuid"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def service(user):
    return make_application(user, "web", state=AS.RUNNING, containers=2)


def triggers_uri(service) -> str:
    return f"/api/v1/service/{service.uuid}/trigger/"


def add(api, service, **body) -> dict:
    response = api.post(triggers_uri(service), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_defaults_to_redeploy_and_answers_the_trigger(api, service):
    trigger = add(api, service, name="ci")
    assert set(trigger) == TRIGGER_KEYS
    assert (trigger["name"], trigger["operation"]) == ("ci", "REDEPLOY")
    assert trigger["resource_uri"] == f"{triggers_uri(service)}{trigger['uuid']}/"
    assert trigger["url"] == f"{trigger['resource_uri']}call/"
    assert uuid.UUID(trigger["uuid"]).version == 4
    scale_up = add(api, service, name="more", operation="SCALEUP")
    assert scale_up["operation"] == "SCALEUP"
    assert add(api, service)["name"] == ""  # `trigger create` without -n sends no name


@pytest.mark.parametrize(
    "body, field",
    [
        ({"operation": "DESTROY"}, "operation"),
        ({"operation": "redeploy"}, "operation"),
        ({"name": 3}, "name"),
        ({"name": "x" * 65}, "name"),
    ],
)
def test_create_400s(api, service, body, field):
    response = api.post(triggers_uri(service), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Trigger.objects.exists()


def test_no_trigger_on_a_terminated_service(api, user):
    gone = make_application(user, "gone", state=AS.TERMINATED, container_state=CS.TERMINATED)
    response = api.post(triggers_uri(gone), {"name": "x"}, format="json")
    assert response.status_code == 400
    assert "Terminated" in response.json()["error"]


def test_list_detail_and_filters(api, service, user):
    first = add(api, service, name="one")
    second = add(api, service, name="two", operation="SCALEUP")
    other_service = make_application(user, "db")
    add(api, other_service, name="one")
    body = api.get(triggers_uri(service)).json()
    assert body["meta"]["total_count"] == 2
    assert [t["uuid"] for t in body["objects"]] == [first["uuid"], second["uuid"]]
    assert [t["uuid"] for t in api.get(f"{triggers_uri(service)}?name=two").json()["objects"]] == [second["uuid"]]
    prefix = first["uuid"][:8]
    assert [t["uuid"] for t in api.get(f"{triggers_uri(service)}?uuid__startswith={prefix}").json()["objects"]] == [
        first["uuid"]
    ]
    detail = api.get(second["resource_uri"])
    assert detail.status_code == 200
    assert detail.json() == second
    # A trigger is found only under its own service.
    assert api.get(f"{triggers_uri(other_service)}{first['uuid']}/").status_code == 404


def test_the_list_query_count_does_not_grow(api, service, django_assert_max_num_queries):
    for n in range(3):
        add(api, service, name=f"t{n}")
    with django_assert_max_num_queries(4):  # the key check, the service, the page
        assert len(api.get(triggers_uri(service)).json()["objects"]) == 3
    for n in range(20):
        add(api, service, name=f"u{n}")
    with django_assert_max_num_queries(4):
        assert len(api.get(triggers_uri(service)).json()["objects"]) == 23


def test_delete_revokes_the_trigger(api, service):
    trigger = add(api, service, name="ci")
    response = api.delete(trigger["resource_uri"])
    assert response.status_code == 204
    assert api.get(trigger["resource_uri"]).status_code == 404
    assert api.post(trigger["url"]).status_code == 404
    assert api.delete(trigger["resource_uri"]).status_code == 404


def test_another_users_service_and_trigger_are_404(api, other_api, service):
    trigger = add(api, service, name="ci")
    assert other_api.get(triggers_uri(service)).status_code == 404
    assert other_api.post(triggers_uri(service), {"name": "mine"}, format="json").status_code == 404
    assert other_api.get(trigger["resource_uri"]).status_code == 404
    assert other_api.delete(trigger["resource_uri"]).status_code == 404
    assert Trigger.objects.count() == 1
    assert api.get(f"/api/v1/service/{uuid.uuid4()}/trigger/").status_code == 404


def test_managing_triggers_needs_credentials(make_client, api, service):
    trigger = add(api, service, name="ci")
    anonymous = make_client()
    assert anonymous.get(triggers_uri(service)).status_code == 401
    assert anonymous.post(triggers_uri(service), {}, format="json").status_code == 401
    assert anonymous.delete(trigger["resource_uri"]).status_code == 401


# ---------------------------------------------------------------- calls


def test_a_redeploy_trigger_called_without_credentials(make_client, api, service):
    trigger = add(api, service, name="ci")
    response = make_client().post(trigger["url"], REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 202, response.content
    action = response.json()
    assert response[HEADER] == action["resource_uri"]
    assert (action["action"], action["state"]) == ("Service Redeploy", "In progress")
    assert action["object"] == f"/api/v1/service/{service.uuid}/"
    assert action["is_user_action"] is False
    assert action["ip"] == "203.0.113.9"
    assert action["path"] == trigger["url"]
    service.refresh_from_db()
    assert service.state == AS.REDEPLOYING
    # The owner sees it among their actions.
    assert [a["uuid"] for a in api.get("/api/v1/action/").json()["objects"]][0] == action["uuid"]


def test_the_call_ignores_credentials_it_is_given(api, service):
    trigger = add(api, service, name="ci")
    response = api.post(trigger["url"])
    assert response.status_code == 202
    assert response.json()["is_user_action"] is False


@pytest.mark.parametrize("suffix, added", [("", 1), ("3/", 3), ("3", 3)])
def test_a_scaleup_trigger_adds_containers(make_client, api, service, suffix, added):
    trigger = add(api, service, operation="SCALEUP")
    response = make_client().post(f"{trigger['url']}{suffix}")
    assert response.status_code == 202, response.content
    assert (response.json()["action"], response.json()["state"]) == ("Service Scale", "In progress")
    service.refresh_from_db()
    assert service.target_num_containers == 2 + added
    assert service.state == AS.SCALING
    assert service.containers.live().count() == 2 + added
    assert Action.objects.count() == 1  # the scale-up's update is part of it, not an action of its own


def test_a_scaleup_past_the_limit_is_400(make_client, api, service, settings):
    settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION = 4
    trigger = add(api, service, operation="SCALEUP")
    response = make_client().post(f"{trigger['url']}3/")
    assert response.status_code == 400
    assert "at most 4" in response.json()["error"]
    assert Service.objects.get(pk=service.pk).target_num_containers == 2
    assert not Action.objects.exists()


def test_bad_calls(make_client, api, service, user):
    anonymous = make_client()
    trigger = add(api, service, operation="SCALEUP")
    assert anonymous.post(f"{triggers_uri(service)}{uuid.uuid4()}/call/").status_code == 404
    other = make_application(user, "db")
    assert anonymous.post(f"{triggers_uri(other)}{trigger['uuid']}/call/").status_code == 404
    zero = anonymous.post(f"{trigger['url']}0/")
    assert zero.status_code == 400 and "count" in zero.json()["fields"]
    assert anonymous.get(trigger["url"]).status_code == 405
    assert not Action.objects.exists()


def test_a_call_in_an_unsuitable_state_is_400(make_client, api, service):
    trigger = add(api, service, name="ci")
    set_state(service, AS.STOPPING)
    response = make_client().post(trigger["url"])
    assert response.status_code == 400
    assert "Stopping" in response.json()["error"]
    assert HEADER not in response


def test_the_trigger_of_a_terminated_service_is_404(make_client, api, service):
    trigger = add(api, service, name="ci")
    set_state(service, AS.TERMINATED)
    assert make_client().post(trigger["url"]).status_code == 404

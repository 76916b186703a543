"""/api/v1/stack/ lists and details: `tutum service ps` and `container ps` list it to name stacks (the writes
are tested in tests/stacks/test_stack_api.py)."""

import uuid

import pytest
from django.utils import timezone

from apps.services.models import Service
from apps.stacks.models import Stack

from .app_support import AS, RFC2822, make_application

pytestmark = pytest.mark.django_db

STACKS = "/api/v1/stack/"
STACK_KEYS = {
    "uuid",
    "resource_uri",
    "name",
    "nickname",
    "state",
    "synchronized",
    "services",
    "deployed_datetime",
    "destroyed_datetime",
}


def objects(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["objects"]


def test_no_stacks_is_an_empty_list(api):
    response = api.get(STACKS)
    assert response.status_code == 200
    assert response.json() == {
        "meta": {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": 0},
        "objects": [],
    }


def test_a_stack_with_its_services(api, user):
    stack = Stack.objects.create(owner=user, name="shop", nickname="the shop", deployed_datetime=timezone.now())
    web = make_application(user, "web", stack=stack)
    db = make_application(user, "db", stack=stack)
    make_application(user, "gone", stack=stack, state=AS.TERMINATED, containers=0)
    make_application(user, "alone")

    (item,) = objects(api.get(STACKS))

    assert set(item) == STACK_KEYS
    assert item == api.get(f"{STACKS}{stack.uuid}/").json()
    assert item["uuid"] == str(stack.uuid)
    assert item["resource_uri"] == f"/api/v1/stack/{stack.uuid}/"
    assert (item["name"], item["nickname"], item["state"]) == ("shop", "the shop", "Not Running")
    assert item["services"] == [f"/api/v1/service/{web.uuid}/", f"/api/v1/service/{db.uuid}/"]
    assert item["synchronized"] is True
    assert RFC2822.match(item["deployed_datetime"]) and item["destroyed_datetime"] is None

    Service.objects.filter(pk=db.pk).update(synchronized=False)
    assert api.get(f"{STACKS}{stack.uuid}/").json()["synchronized"] is False


def test_stacks_are_the_owners_only(api, other_api, user, other_user):
    mine = Stack.objects.create(owner=user, name="shop")
    theirs = Stack.objects.create(owner=other_user, name="shop")
    assert [s["uuid"] for s in objects(api.get(STACKS))] == [str(mine.uuid)]
    assert api.get(f"{STACKS}{theirs.uuid}/").status_code == 404
    assert api.get(f"{STACKS}{uuid.uuid4()}/").status_code == 404
    assert [s["uuid"] for s in objects(other_api.get(STACKS))] == [str(theirs.uuid)]


def test_filters_uuid_uuid_prefix_name_and_state(api, user):
    shop = Stack.objects.create(owner=user, name="shop")
    blog = Stack.objects.create(owner=user, name="blog", state="Running")

    def listed(**query):
        return [s["name"] for s in objects(api.get(STACKS, query))]

    assert listed() == ["shop", "blog"]
    assert listed(name="blog") == ["blog"]
    assert listed(uuid=str(shop.uuid)) == ["shop"]
    assert listed(uuid__startswith=str(blog.uuid)[:8]) == ["blog"]
    assert listed(state="Running") == ["blog"]
    assert api.get(STACKS, {"state": "Asleep"}).status_code == 400


def test_a_terminated_stack_leaves_the_list_after_its_retention(api, user, settings):
    old = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_TERMINATED_RETENTION_SECONDS + 5)
    gone = Stack.objects.create(owner=user, name="gone", state="Terminated", destroyed_datetime=old)
    Stack.objects.create(owner=user, name="recent", state="Terminated", destroyed_datetime=timezone.now())
    assert [s["name"] for s in objects(api.get(STACKS))] == ["recent"]
    assert api.get(f"{STACKS}{gone.uuid}/").json()["state"] == "Terminated"

"""Images, tags and registries over the API, against Postgres, the local Docker engine and the test registry.

Adding or updating credentials logs in to the real registry (through the driver, from the default node).
"""

import logging

import docker
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from apps.images.models import Image, Registry
from apps.services.models import Service
from orchestrator.images import refresh_image
from tests.images_support import (
    IMAGE_KEYS,
    PASSWORD_1,
    PASSWORD_2,
    REGISTRY,
    REGISTRY_KEYS,
    TAG_IMAGE_KEYS,
    TAG_KEYS,
    USER_1,
    USER_2,
    assert_no_secret,
    private_repository,
    push_private_image,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def repository():
    client = docker.DockerClient(base_url=settings.DOCKER_HOST)
    yield push_private_image(client)
    client.close()


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _add(api, name, username=USER_1, password=PASSWORD_1, **extra):
    return api.post(
        "/api/v1/image/", {"name": name, "username": username, "password": password, **extra}, format="json"
    )


def _shared(name, host="index.docker.io", **flags):
    registry, _ = Registry.objects.get_or_create(host=host, defaults={"name": host})
    return Image.objects.create(name=name, registry=registry, **flags)


# ---------------------------------------------------------------- add


def test_add_with_right_password_is_202_and_stores_it_encrypted(api, user, repository, all_logs):
    response = _add(api, repository, description="private httpd")
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == IMAGE_KEYS
    assert body["name"] == repository
    assert body["resource_uri"] == f"/api/v1/image/{repository}/"
    assert body["docker_registry"] == f"/api/v1/registry/{REGISTRY}/"
    assert body["is_private_image"] is True
    assert body["starred"] is False and body["base_image"] is False
    assert body["description"] == "private httpd"
    assert body["public_url"] == ""
    assert_no_secret(response.content.decode(), "the 202 answer")

    image = Image.objects.get(owner=user, name=repository)
    assert image.registry_username == USER_1
    assert PASSWORD_1 not in image.encrypted_password and image.encrypted_password
    assert image.password() == PASSWORD_1
    detail = api.get(f"/api/v1/image/{repository}/")
    assert detail.status_code == 200
    assert_no_secret(detail.content.decode(), "the detail answer")
    assert_no_secret(all_logs.text, "the log")


def test_add_with_wrong_password_is_400_with_registry_reason(api, user, repository, all_logs):
    response = _add(api, repository, password="not-the-password")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert REGISTRY in error and "401 Unauthorized" in error
    assert "not-the-password" not in response.content.decode()
    assert not Image.objects.filter(name=repository).exists()
    assert "not-the-password" not in all_logs.text


def test_add_with_unknown_user_is_400(api, repository):
    response = _add(api, repository, username="nobody-here")
    assert response.status_code == 400
    assert "401 Unauthorized" in response.json()["error"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"username": USER_1, "password": PASSWORD_1}, "name"),
        ({"name": "127.0.0.1:5000/x/y", "password": PASSWORD_1}, "username"),
        ({"name": "127.0.0.1:5000/x/y", "username": USER_1}, "password"),
        ({"name": "127.0.0.1:5000/x/y:1.0", "username": USER_1, "password": PASSWORD_1}, "name"),
        ({"name": "Not An Image", "username": USER_1, "password": PASSWORD_1}, "name"),
    ],
)
def test_add_validation_errors(api, payload, field):
    response = api.post("/api/v1/image/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert_no_secret(response.content.decode(), "a validation error")


def test_add_twice_is_400(api, repository):
    assert _add(api, repository).status_code == 202
    response = _add(api, repository)
    assert response.status_code == 400
    assert "already" in response.json()["error"]


def test_anonymous_is_401(client, repository):
    assert client.get("/api/v1/image/").status_code == 401
    assert client.post("/api/v1/image/", {}, content_type="application/json").status_code == 401
    assert client.get("/api/v1/registry/").status_code == 401


# ---------------------------------------------------------------- update


def test_change_credentials_and_description(api, user, repository, all_logs):
    assert _add(api, repository).status_code == 202
    uri = f"/api/v1/image/{repository}/"

    refused = api.patch(uri, {"username": USER_2, "password": PASSWORD_1}, format="json")
    assert refused.status_code == 400
    assert "401 Unauthorized" in refused.json()["error"]
    assert Image.objects.get(owner=user).password() == PASSWORD_1

    changed = api.patch(uri, {"username": USER_2, "password": PASSWORD_2}, format="json")
    assert changed.status_code == 202, changed.content
    assert set(changed.json()) == IMAGE_KEYS
    image = Image.objects.get(owner=user)
    assert (image.registry_username, image.password()) == (USER_2, PASSWORD_2)

    described = api.patch(uri, {"description": "Awesome web application, containerized"}, format="json")
    assert described.status_code == 202
    assert described.json()["description"] == "Awesome web application, containerized"
    assert Image.objects.get(owner=user).password() == PASSWORD_2

    assert api.patch(uri, {"password": "wrong-again"}, format="json").status_code == 400
    assert Image.objects.get(owner=user).password() == PASSWORD_2
    for text in (refused.content, changed.content, described.content):
        assert_no_secret(text.decode(), "a PATCH answer")
    assert_no_secret(all_logs.text, "the log")
    assert "wrong-again" not in all_logs.text


def test_update_refuses_other_fields_and_lone_username(api, repository):
    assert _add(api, repository).status_code == 202
    uri = f"/api/v1/image/{repository}/"
    assert api.patch(uri, {"starred": True}, format="json").status_code == 400
    assert api.patch(uri, {"name": "other/name"}, format="json").status_code == 400
    assert api.patch(uri, {"username": USER_2}, format="json").json()["fields"] == {
        "password": ["Required when username is given."]
    }
    assert api.patch(uri, {"name": repository, "description": "same name is fine"}, format="json").status_code == 202


def test_catalogue_images_cannot_be_changed_or_deleted(api):
    _shared("tutum/lamp", starred=True)
    assert api.patch("/api/v1/image/tutum/lamp/", {"description": "x"}, format="json").status_code == 400
    assert api.delete("/api/v1/image/tutum/lamp/").status_code == 400
    assert Image.objects.filter(name="tutum/lamp").exists()


# ---------------------------------------------------------------- details from the real image


def test_detail_tags_come_from_inspecting_the_pulled_image(api, repository, docker_engine):
    assert _add(api, repository).status_code == 202
    refresh_image(str(Image.objects.get(name=repository).uuid))  # what the worker does after the 202
    body = api.get(f"/api/v1/image/{repository}/").json()
    assert set(body) == IMAGE_KEYS
    [tag] = body["imagetag_set"]
    assert set(tag) == TAG_KEYS and set(tag["image"]) == TAG_IMAGE_KEYS
    inspected = docker_engine.images.get(f"{repository}:latest").attrs
    assert tag == {
        "full_name": f"{repository}:latest",
        "image": {
            "author": inspected["Author"],
            "docker_id": inspected["Id"].removeprefix("sha256:"),
            "entrypoint": "",
            "image_creation": tag["image"]["image_creation"],
            "imageenvvar_set": [{"key": "PATH", "value": "/bin"}, {"key": "SERVER", "value": "busybox-httpd"}],
            "imageport_set": [{"port": 80, "protocol": "tcp"}],
            "run_command": "/bin/httpd -f -p 80 -h /www",
        },
        "image_info": f"/api/v1/image/{repository}/",
        "name": "latest",
        "resource_uri": f"/api/v1/image/{repository}/tag/latest/",
    }
    assert inspected["Author"] == "tutumserver tests <tests@example.com>"
    assert tag["image"]["image_creation"].endswith(" +0000")

    listed = api.get("/api/v1/image/?is_private_image=True").json()["objects"]
    assert listed[0]["imagetag_set"] == [f"/api/v1/image/{repository}/tag/latest/"]
    tag_only = api.get(f"/api/v1/image/{repository}/tag/latest/")
    assert tag_only.status_code == 200 and tag_only.json() == tag
    assert api.get(f"/api/v1/image/{repository}/tag/nope/").status_code == 404


@pytest.fixture
def docker_engine():
    client = docker.DockerClient(base_url=settings.DOCKER_HOST)
    yield client
    client.close()


def test_importimages_command_builds_the_catalogue(api, docker_engine):
    call_command("importimages", "local/httpd", "--starred")
    call_command("importimages", "local/busybox", "--base-image")
    body = api.get("/api/v1/image/?starred=true").json()
    assert [i["name"] for i in body["objects"]] == ["local/httpd"]
    assert body["objects"][0]["imagetag_set"] == ["/api/v1/image/local/httpd/tag/latest/"]
    assert [i["name"] for i in api.get("/api/v1/image/?base_image=True").json()["objects"]] == ["local/busybox"]
    detail = api.get("/api/v1/image/local/httpd/").json()
    image = detail["imagetag_set"][0]["image"]
    assert image["docker_id"] == docker_engine.images.get("local/httpd:latest").id.removeprefix("sha256:")
    assert image["run_command"] == "/bin/httpd -f -p 80 -h /www"
    assert detail["docker_registry"] == "/api/v1/registry/index.docker.io/"
    assert detail["public_url"] == "https://index.docker.io/u/local/httpd/"


# ---------------------------------------------------------------- list and filters


@pytest.fixture
def catalogue(user, other_user):
    quay = Registry.objects.create(host="quay.io", name="Quay.io")
    local = Registry.objects.create(host=REGISTRY, name=REGISTRY)
    hub = Registry.objects.create(host="index.docker.io", name="Docker Hub")
    Image.objects.create(name="tutum/lamp", registry=hub, starred=True)
    Image.objects.create(name="tutum/ubuntu", registry=hub, base_image=True)
    Image.objects.create(name="tutum/hidden", registry=hub)  # inventory only: not listed
    Image.objects.create(name="quay.io/alice/app", registry=quay, owner=user, is_private_image=True)
    Image.objects.create(name=f"{REGISTRY}/alice/app", registry=local, owner=user, is_private_image=True)
    Image.objects.create(name=f"{REGISTRY}/bob/app", registry=local, owner=other_user, is_private_image=True)


def _names(api, query=""):
    response = api.get(f"/api/v1/image/{query}")
    assert response.status_code == 200, response.content
    return [o["name"] for o in response.json()["objects"]]


def test_list_and_every_filter(api, catalogue, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):  # auth (2), count, page, tags
        body = api.get("/api/v1/image/").json()
    assert body["meta"]["total_count"] == 4
    assert all(set(o) == IMAGE_KEYS for o in body["objects"])
    assert _names(api) == [f"{REGISTRY}/alice/app", "quay.io/alice/app", "tutum/lamp", "tutum/ubuntu"]
    assert _names(api, "?is_private_image=True") == [f"{REGISTRY}/alice/app", "quay.io/alice/app"]
    assert _names(api, "?is_private_image=false") == ["tutum/lamp", "tutum/ubuntu"]
    assert _names(api, "?starred=True") == ["tutum/lamp"]
    assert _names(api, "?base_image=1") == ["tutum/ubuntu"]
    assert _names(api, "?docker_registry__host=quay.io") == ["quay.io/alice/app"]
    assert _names(api, f"?docker_registry__host={REGISTRY}") == [f"{REGISTRY}/alice/app"]
    assert _names(api, "?name=tutum/lamp") == ["tutum/lamp"]
    assert _names(api, "?unique_name=quay.io/alice/app") == ["quay.io/alice/app"]
    assert api.get("/api/v1/image/?starred=maybe").status_code == 400


def test_other_users_private_image_is_404(api, other_api, catalogue):
    uri = f"/api/v1/image/{REGISTRY}/bob/app/"
    assert api.get(uri).status_code == 404
    assert api.patch(uri, {"description": "x"}, format="json").status_code == 404
    assert api.delete(uri).status_code == 404
    assert other_api.get(uri).status_code == 200
    assert api.get("/api/v1/image/tutum/hidden/").status_code == 404
    assert api.get("/api/v1/image/no/such/image/").status_code == 404


def test_detail_answers_with_and_without_trailing_slash(api, catalogue):
    for uri in (f"/api/v1/image/{REGISTRY}/alice/app/", f"/api/v1/image/{REGISTRY}/alice/app"):
        response = api.get(uri)
        assert response.status_code == 200
        assert response.json()["name"] == f"{REGISTRY}/alice/app"
    assert api.put(f"/api/v1/image/{REGISTRY}/alice/app/", {}, format="json").status_code == 405


def test_registries_list_and_detail_by_host(api, other_api, catalogue):
    body = api.get("/api/v1/registry/").json()
    assert [r["host"] for r in body["objects"]] == [REGISTRY, "index.docker.io", "quay.io"]
    assert all(set(r) == REGISTRY_KEYS for r in body["objects"])
    detail = api.get(f"/api/v1/registry/{REGISTRY}/")
    assert detail.status_code == 200
    assert detail.json()["resource_uri"] == f"/api/v1/registry/{REGISTRY}/"
    assert api.get("/api/v1/registry/quay.io").status_code == 200
    assert other_api.get("/api/v1/registry/quay.io/").status_code == 404  # bob sees no image there
    assert api.get("/api/v1/registry/nowhere.example.com/").status_code == 404


def test_application_image_tag_uri_resolves_for_its_owner_only(api, other_api, user, docker_engine):
    call_command("importimages", "local/httpd")  # inventory only: not listed
    Service.objects.create(owner=user, name="web", unique_name="web", image_repository="local/httpd")
    uri = "/api/v1/image/local/httpd/tag/latest/"
    assert api.get(uri).status_code == 200
    assert api.get(uri).json()["full_name"] == "local/httpd:latest"
    assert other_api.get(uri).status_code == 404
    assert "local/httpd" not in _names(api)


# ---------------------------------------------------------------- delete


def test_delete_removes_from_account_only_and_refuses_while_in_use(api, user, repository):
    assert _add(api, repository).status_code == 202
    uri = f"/api/v1/image/{repository}/"
    app = Service.objects.create(
        owner=user, name="web", unique_name="web", image_repository=repository, state="Running"
    )
    refused = api.delete(uri)
    assert refused.status_code == 400
    assert "web" in refused.json()["error"]
    Service.objects.filter(pk=app.pk).update(state="Terminated")
    response = api.delete(uri)
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(uri).status_code == 404
    assert Registry.objects.filter(host=REGISTRY).exists()


def test_password_is_in_no_plain_database_column(api, repository):
    assert _add(api, repository).status_code == 202
    assert api.patch(f"/api/v1/image/{repository}/", {"username": USER_2, "password": PASSWORD_2}, format="json")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        columns = cursor.fetchall()
        assert ("images_image", "encrypted_password") in columns
        for table, column in columns:
            for secret in (PASSWORD_1, PASSWORD_2):
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{secret}%"])
                assert cursor.fetchone()[0] == 0, f"{secret!r} found in {table}.{column}"
    assert private_repository() == repository

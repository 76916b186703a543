"""Wrong JSON types are a 400 naming the field (its path, for an item of a list), and nothing is recorded.

Every writable field of every endpoint × every wrong type (docs/decisions.md, "Wire"). The one form accepted
on purpose: a port number given as a string of digits ("80"), as the final 2015 CLI sends it. The bodies the
official 2014 clients send (tutum 0.7.5.1, python-tutum 0.7.5) are accepted as they are.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from apps.containers.models import Container, ContainerPort
from apps.core.exceptions import _field_errors
from apps.core.fields import (
    PortNumberField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictListField,
    StrictSerializer,
)
from apps.images.models import Image, Registry
from apps.services.models import Service, ServiceEnvVar, ServicePort

from .app_support import AS, app_uri, assert_validation_error, make_application

pytestmark = pytest.mark.django_db

MODELS = (Service, ServicePort, ServiceEnvVar, Container, ContainerPort, Image, Registry)

# The JSON name each wrong value's type has in the error message ("Expected a string, got an integer.").
GOT = {
    int: "an integer",
    float: "a decimal number",
    bool: "a boolean",
    str: "a string",
    list: "an array",
    dict: "an object",
}

NOT_STRINGS = [123, 1.5, True, False, [], ["x"], {}, {"a": "b"}]
NOT_INTEGERS = [True, False, 3.0, 2.5, "3", "abc", "", [], [3], {}]
NOT_PORTS = [True, 80.0, 80.5, "80.0", " 80", "80 ", "80\n", "+80", "-80", "abc", "", "８０", [], [80], {}]
NOT_LISTS = ["x", "", 1, 1.5, True, {}, {"inner_port": 80}]
NOT_OBJECTS = ["x", 1, 1.5, True, [], ["k", "v"]]


def _cases(paths, wrong_values):
    return [pytest.param(path, value, id=f"{path}={value!r}") for path in paths for value in wrong_values]


def _row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def assert_refused(response, path: str, value) -> dict:
    """400, `path` named in `error` and (under its top-level field) in `fields`, the wrong type named."""
    field = path.split("[")[0].split(".")[0]
    body = assert_validation_error(response, field)
    assert f"{path}: " in body["error"], body
    messages = body["fields"][field]
    if path == field:
        assert any(GOT[type(value)] in m for m in messages), body
    else:
        assert any(m.startswith(f"{path}: ") and GOT[type(value)] in m for m in messages), body
    return body


# ---------------------------------------------------------------- application create

BASE_CREATE = {"image": "tutum/hello-world"}


def _set(path: str, value) -> dict:
    """A valid create body with `value` at `path` (a field, or `field[0].key`/`field[0]` of its first item)."""
    body = dict(BASE_CREATE)
    if path == "container_ports[0].inner_port":
        body["container_ports"] = [{"inner_port": value, "protocol": "tcp"}]
    elif path == "container_ports[1].protocol":
        body["container_ports"] = [{"inner_port": 80}, {"inner_port": 81, "protocol": value}]
    elif path == "container_ports[0]":
        body["container_ports"] = [value]
    elif path == "container_envvars[0].key":
        body["container_envvars"] = [{"key": value, "value": "x"}]
    elif path == "container_envvars[1].value":
        body["container_envvars"] = [{"key": "A", "value": "a"}, {"key": "B", "value": value}]
    elif path == "container_envvars[0]":
        body["container_envvars"] = [value]
    elif path == "linked_to_application[0]":
        body["linked_to_application"] = [value]
    elif path == "roles[0]":
        body["roles"] = [value]
    else:
        body[path] = value
    return body


CREATE_STRINGS = dict.fromkeys(
    [
        "image",
        "name",
        "container_size",
        "run_command",
        "entrypoint",
        "autorestart",
        "autoreplace",
        "autodestroy",
        "web_public_dns",
        "container_ports[1].protocol",
        "container_envvars[0].key",
        "container_envvars[1].value",
        "linked_to_application[0]",
        "roles[0]",
    ]
)
CREATE_INTEGERS = dict.fromkeys(["target_num_containers"])
CREATE_PORTS = dict.fromkeys(["container_ports[0].inner_port"])
CREATE_LISTS = dict.fromkeys(["container_ports", "container_envvars", "linked_to_application", "roles"])
CREATE_OBJECTS = dict.fromkeys(["container_ports[0]", "container_envvars[0]"])

CREATE_CASES = (
    _cases(CREATE_STRINGS, NOT_STRINGS)
    + _cases(CREATE_INTEGERS, NOT_INTEGERS)
    + _cases(CREATE_PORTS, NOT_PORTS)
    + _cases(CREATE_LISTS, NOT_LISTS)
    + _cases(CREATE_OBJECTS, NOT_OBJECTS)
)


@pytest.mark.parametrize(("path", "value"), CREATE_CASES)
def test_create_refuses_a_wrong_type(api, user, django_capture_on_commit_callbacks, path, value):
    before = _row_counts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/application/", _set(path, value), format="json")
    assert_refused(response, path, value)
    assert _row_counts() == before
    assert callbacks == []


@pytest.mark.parametrize("body", [[], ["tutum/hello-world"], "tutum/hello-world", 123, True])
def test_create_refuses_a_body_that_is_not_an_object(api, user, body):
    before = _row_counts()
    response = api.post("/api/v1/application/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == f"non_field_errors: Expected an object, got {GOT[type(body)]}."
    assert _row_counts() == before


def test_create_names_every_wrong_field_and_item_at_once(api, user):
    body = {
        "image": 123,
        "target_num_containers": "2",
        "container_ports": [{"inner_port": 80}, {"inner_port": "80.0"}, {"inner_port": 81, "protocol": 6}],
        "container_envvars": [{"key": "A", "value": "1"}, {"key": "B", "value": 2}],
        "roles": ["global", True],
    }
    error = assert_validation_error(api.post("/api/v1/application/", body, format="json"), "image")
    assert error["fields"] == {
        "image": ["Expected a string, got an integer."],
        "target_num_containers": ["Expected an integer, got a string."],
        "container_ports": [
            "container_ports[1].inner_port: Expected an integer or a string of digits, got a string.",
            "container_ports[2].protocol: Expected a string, got an integer.",
        ],
        "container_envvars": ["container_envvars[1].value: Expected a string, got an integer."],
        "roles": ["roles[1]: Expected a string, got a boolean."],
    }
    assert error["error"] == (
        "image: Expected a string, got an integer.; "
        "target_num_containers: Expected an integer, got a string.; "
        "container_ports[1].inner_port: Expected an integer or a string of digits, got a string.; "
        "container_ports[2].protocol: Expected a string, got an integer.; "
        "container_envvars[1].value: Expected a string, got an integer.; "
        "roles[1]: Expected a string, got a boolean."
    )
    assert Service.objects.count() == 0


# ---------------------------------------------------------------- application PATCH and redeploy


@pytest.fixture
def running(user):
    return make_application(user, "web", state=AS.RUNNING, containers=2, ports=(80,))


def _snapshot(service) -> tuple:
    fresh = Service.objects.get(pk=service.pk)
    return (
        fresh.state,
        fresh.target_num_containers,
        fresh.web_public_dns,
        fresh.autorestart,
        fresh.autoreplace,
        fresh.autodestroy,
        fresh.image_tag_name,
        fresh.generation,
        fresh.modified,
    )


PATCH_CASES = _cases(
    dict.fromkeys(["web_public_dns", "autorestart", "autoreplace", "autodestroy"]), NOT_STRINGS
) + _cases(CREATE_INTEGERS, NOT_INTEGERS)


@pytest.mark.parametrize(("path", "value"), PATCH_CASES)
def test_patch_refuses_a_wrong_type_and_changes_nothing(api, running, django_capture_on_commit_callbacks, path, value):
    before, counts = _snapshot(running), _row_counts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.patch(app_uri(running), {path: value}, format="json")
    assert_refused(response, path, value)
    assert _snapshot(running) == before
    assert _row_counts() == counts
    assert callbacks == []


@pytest.mark.parametrize("value", NOT_STRINGS)
def test_redeploy_refuses_a_wrong_type_and_changes_nothing(api, running, django_capture_on_commit_callbacks, value):
    before = _snapshot(running)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"{app_uri(running)}redeploy/", {"tag": value}, format="json")
    assert_refused(response, "tag", value)
    assert _snapshot(running) == before
    assert callbacks == []


# ---------------------------------------------------------------- images


@pytest.fixture
def private_image(user):
    registry, _ = Registry.objects.get_or_create(host="127.0.0.1:5000", defaults={"name": "127.0.0.1:5000"})
    image = Image(owner=user, name="127.0.0.1:5000/alice/app", registry=registry, registry_username="alice")
    image.description = "as it was"
    image.set_password("the-password")
    image.save()
    return image


IMAGE_FIELDS = dict.fromkeys(["name", "username", "password", "description"])
IMAGE_CREATE = {"name": "127.0.0.1:5000/alice/new", "username": "alice", "password": "pw", "description": "d"}


@pytest.mark.parametrize(("path", "value"), _cases(IMAGE_FIELDS, NOT_STRINGS))
def test_image_add_refuses_a_wrong_type(api, user, path, value):
    before = _row_counts()
    response = api.post("/api/v1/image/", {**IMAGE_CREATE, path: value}, format="json")
    assert_refused(response, path, value)
    assert _row_counts() == before


@pytest.mark.parametrize(("path", "value"), _cases(IMAGE_FIELDS, NOT_STRINGS))
def test_image_update_refuses_a_wrong_type_and_changes_nothing(api, private_image, path, value):
    def snapshot():
        fresh = Image.objects.get(pk=private_image.pk)
        return (fresh.name, fresh.description, fresh.registry_username, fresh.password(), fresh.modified)

    before = snapshot()
    body = {path: value} if path != "username" else {"username": value, "password": "other"}
    response = api.patch(f"/api/v1/image/{private_image.name}/", body, format="json")
    assert_refused(response, path, value)
    assert snapshot() == before


# ---------------------------------------------------------------- the forms accepted on purpose


def test_ports_as_strings_of_digits_are_stored_and_shown_as_integers(api, user):
    body = {
        "image": "tutum/hello-world",
        "container_ports": [{"inner_port": "80", "protocol": "tcp"}, {"inner_port": "53", "protocol": "udp"}],
    }
    response = api.post("/api/v1/application/", body, format="json")
    assert response.status_code == 202, response.content
    uri = response.json()["resource_uri"]
    for shown in (response.json(), api.get(uri).json()):
        assert [(p["inner_port"], p["protocol"]) for p in shown["container_ports"]] == [(80, "tcp"), (53, "udp")]
        assert all(type(p["inner_port"]) is int for p in shown["container_ports"])
    stored = sorted(ServicePort.objects.filter(service__uuid=uri.split("/")[-2]).values_list("inner_port", flat=True))
    assert stored == [53, 80]
    assert all(type(port) is int for port in stored)


def test_a_port_as_string_and_as_integer_is_the_same_port(api, user):
    body = {"image": "tutum/hello-world", "container_ports": [{"inner_port": 80}, {"inner_port": "80"}]}
    body = assert_validation_error(api.post("/api/v1/application/", body, format="json"), "container_ports")
    assert "80/tcp" in body["error"]
    assert Service.objects.count() == 0


@pytest.mark.parametrize(("value", "message"), [("0", "greater than or equal to 1"), ("65536", "less than or equal")])
def test_a_port_string_is_held_to_the_port_range(api, user, value, message):
    body = {"image": "tutum/hello-world", "container_ports": [{"inner_port": value}]}
    body = assert_validation_error(api.post("/api/v1/application/", body, format="json"), "container_ports")
    assert f"container_ports[0].inner_port: Ensure this value is {message}" in body["error"]


def test_the_bodies_the_2014_cli_and_sdk_send_are_accepted(api, user, django_capture_on_commit_callbacks):
    # `tutum cluster run -n web -t 2 -p 80/tcp -e A=B --autorestart ALWAYS --role global --sequential
    # --web-public-dns www.example.com tutum/hello-world`: utils.parse_ports and argparse (type=int) give
    # integers; the SDK's save() sends only the attributes that are set and truthy; unknown keys are ignored.
    run = {
        "image": "tutum/hello-world",
        "name": "web",
        "container_size": "XS",
        "target_num_containers": 2,
        "container_ports": [{"protocol": "tcp", "inner_port": 80}],
        "container_envvars": [{"key": "A", "value": "B"}],
        "autorestart": "ALWAYS",
        "roles": ["global"],
        "sequential_deployment": True,
        "web_public_dns": "www.example.com",
    }
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post("/api/v1/application/", run, format="json")
        assert created.status_code == 202, created.content
        uri = created.json()["resource_uri"]
        service = Service.objects.get(uuid=created.json()["uuid"])
        Service.objects.filter(pk=service.pk).update(state=AS.RUNNING)
        # `cluster scale web 3`, `cluster set --autorestart OFF --autodestroy ON_FAILURE web`.
        assert api.patch(uri, {"target_num_containers": 3}, format="json").status_code == 202
        Service.objects.filter(pk=service.pk).update(state=AS.RUNNING)
        flags = api.patch(uri, {"autorestart": "OFF", "autodestroy": "ON_FAILURE"}, format="json")
        assert flags.status_code == 202, flags.content
        # `cluster redeploy web` and `cluster redeploy -t latest web`: {"tag": null}, {"tag": "latest"}.
        assert api.post(f"{uri}redeploy/", {"tag": None}, format="json").status_code == 202
        Service.objects.filter(pk=service.pk).update(state=AS.RUNNING)
        assert api.post(f"{uri}redeploy/", {"tag": "latest"}, format="json").status_code == 202
    service.refresh_from_db()
    assert (service.target_num_containers, service.autorestart, service.autodestroy) == (3, "OFF", "ON_FAILURE")


def test_the_image_update_the_2014_cli_sends_is_accepted(api, private_image):
    # `tutum image update --description "…" <repository>`: strings only.
    response = api.patch(f"/api/v1/image/{private_image.name}/", {"description": "new words"}, format="json")
    assert response.status_code == 202, response.content
    assert Image.objects.get(pk=private_image.pk).description == "new words"


# ---------------------------------------------------------------- the fields themselves (also for the 2015 face)


class _Everything(StrictSerializer):
    text = StrictCharField(required=False)
    choice = StrictChoiceField(choices=["a", "b"], required=False)
    number = StrictIntegerField(required=False)
    port = PortNumberField(required=False)
    flag = StrictBooleanField(required=False)
    items = StrictListField(child=StrictCharField(), required=False)
    mapping = StrictDictField(child=StrictCharField(), required=False)


FIELD_CASES = [
    ("text", NOT_STRINGS),
    ("choice", NOT_STRINGS),
    ("number", NOT_INTEGERS),
    ("port", NOT_PORTS),
    ("flag", ["true", "false", "True", "yes", "", 1, 0, 1.0, [], {}]),
    ("items", NOT_LISTS),
    ("mapping", ["x", 1, True, [], [["k", "v"]]]),
]


@pytest.mark.parametrize(
    ("name", "value"), [pytest.param(n, v, id=f"{n}={v!r}") for n, values in FIELD_CASES for v in values]
)
def test_each_strict_field_refuses_the_other_json_types(name, value):
    serializer = _Everything(data={name: value})
    assert not serializer.is_valid()
    assert list(serializer.errors) == [name]
    (message,) = serializer.errors[name]
    assert message.code == "wrong_type", message
    assert f"got {GOT[type(value)]}" in message


def test_each_strict_field_takes_its_own_type():
    data = {
        "text": "x",
        "choice": "a",
        "number": 0,
        "port": "8080",
        "flag": False,
        "items": ["x"],
        "mapping": {"k": "v"},
    }
    serializer = _Everything(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {**data, "port": 8080}
    assert _Everything(data={"port": 443}).is_valid()


def test_nested_items_name_their_path():
    class Item(StrictSerializer):
        port = PortNumberField()

    class Outer(StrictSerializer):
        items = Item(many=True)
        tags = StrictDictField(child=StrictCharField())

    serializer = Outer(data={"items": [{"port": 1}, {"port": "x"}, "y"], "tags": {"k": 1}})
    assert not serializer.is_valid()
    fields, error = _field_errors(serializer.errors)
    assert fields == {
        "items": [
            "items[1].port: Expected an integer or a string of digits, got a string.",
            "items[2]: Expected an object, got a string.",
        ],
        "tags": ["tags.k: Expected a string, got an integer."],
    }
    assert error.startswith("items[1].port: Expected")


@pytest.mark.parametrize(
    "field",
    [
        serializers.CharField(),
        serializers.IntegerField(),
        serializers.BooleanField(),
        serializers.ChoiceField(choices=["a"]),
        StrictListField(child=serializers.CharField()),
        StrictListField(),
        StrictDictField(),
    ],
    ids=repr,
)
def test_an_input_serializer_with_a_field_that_coerces_is_refused_when_defined(field):
    with pytest.raises(ImproperlyConfigured, match="Bad.field"):
        type("Bad", (StrictSerializer,), {"field": field})


def test_the_input_serializers_of_every_endpoint_are_strict():
    from apps.images.serializers import ImageCreateSerializer, ImageUpdateSerializer
    from apps.services.api_2014.serializers import (
        ApplicationCreateSerializer,
        ApplicationUpdateSerializer,
        RedeploySerializer,
    )

    for serializer in (
        ApplicationCreateSerializer,
        ApplicationUpdateSerializer,
        RedeploySerializer,
        ImageCreateSerializer,
        ImageUpdateSerializer,
    ):
        assert issubclass(serializer, StrictSerializer), serializer

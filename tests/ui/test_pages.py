"""The dashboard's pages through Django's test client (no browser): login, ownership, the forms' validation
by the API's serializer, quick actions through the use cases, and constant query counts on long lists."""

import re

import pytest
from django.test import Client

from apps.accounts.models import ApiKey
from apps.actions.models import Action
from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.nodes.models import Node
from apps.services.choices import ServiceState
from apps.services.models import Service, ServiceEnvVar

pytestmark = pytest.mark.django_db
PASSWORD = "secret-password"


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


def make_service(owner, name="web", state=ServiceState.RUNNING, **fields):
    return Service.objects.create(
        owner=owner, name=name, unique_name=name, image_repository="local/httpd", state=state, **fields
    )


def test_pages_need_a_login(client):
    response = client.get("/services/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/services/"
    poll = client.get("/services/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll["HX-Redirect"] == "/login/?next=/services/"


def test_login_with_the_password_starts_a_session_and_goes_to_next(client, user):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/nodes/"})
    assert response.status_code == 302 and response["Location"] == "/nodes/"
    assert client.get("/services/").status_code == 200


def test_login_refuses_a_wrong_password_and_an_outside_next(client, user):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Wrong username or password." in response.content.decode()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/services/"


def test_login_is_throttled_with_the_api_password_throttle(client, user, settings):
    settings.TUTUM_AUTH_FAILURES_ALLOWED = 2
    for _ in range(2):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed authentication attempts" in response.content.decode()
    assert client.get("/services/").status_code == 302  # still not logged in


def test_the_forms_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 403


def test_logout_is_a_post_and_ends_the_session(browser):
    assert browser.get("/logout/").status_code == 405
    assert browser.post("/logout/").status_code == 302
    assert browser.get("/services/").status_code == 302


def test_api_keys_shows_a_new_key_once_with_both_export_lines_then_only_its_prefix(browser, user, settings):
    settings.TUTUM_API_URL = "http://tutum.example:8000"
    response = browser.post("/keys/", {"name": "laptop"})
    page = response.content.decode()
    key = re.search(r'id="new-key" class="mono" readonly value="([0-9a-f]{40})"', page)[1]
    assert f"export TUTUM_BASE_URL=http://tutum.example:8000/api/v1/ TUTUM_USER=alice TUTUM_APIKEY={key}" in page
    assert f"export TUTUM_REST_HOST=http://tutum.example:8000 TUTUM_USER=alice TUTUM_APIKEY={key}" in page
    assert response["Cache-Control"] == "no-store"
    row = ApiKey.objects.get(user=user, name="laptop")
    assert ApiKey.find_active("alice", key).pk == row.pk
    later = browser.get("/keys/").content.decode()
    assert key not in later and f"{key[:8]}…" in later and "laptop" in later


def test_a_key_is_revoked_by_its_owner_only(browser, user, other_user):
    own, _ = ApiKey.issue(user, name="mine")
    theirs, _ = ApiKey.issue(other_user, name="theirs")
    assert browser.post(f"/keys/{theirs.pk}/revoke/").status_code == 404
    assert browser.post(f"/keys/{own.pk}/revoke/").status_code == 302
    own.refresh_from_db(), theirs.refresh_from_db()
    assert own.revoked_at is not None and theirs.revoked_at is None
    assert "mine" not in browser.get("/keys/").content.decode()


def test_another_users_service_is_a_404_on_every_route(browser, other_user):
    service = make_service(other_user)
    for path in ("", "logs/", "terminate/"):
        assert browser.get(f"/services/{service.uuid}/{path}").status_code == 404
    for path in ("start/", "stop/", "redeploy/", "terminate/", "edit/"):
        assert browser.post(f"/services/{service.uuid}/{path}").status_code == 404
    assert browser.post(f"/services/{service.uuid}/scale/", {"target_num_containers": 3}).status_code == 404
    service.refresh_from_db()
    assert service.state == ServiceState.RUNNING and service.target_num_containers == 1
    assert "web" not in browser.get("/services/").content.decode().split("<main", 1)[1]


def test_services_are_grouped_by_stack_with_their_state_counts_and_nodes(browser, user):
    from apps.stacks.models import Stack

    stack = Stack.objects.create(owner=user, name="shop")
    db = make_service(user, "db", stack=stack)
    make_service(user, "lonely", state=ServiceState.STOPPED)
    node = Node.objects.create(name="node-a", docker_host="tcp://10.0.0.1:2376")
    Container.objects.create(service=db, number=1, unique_name="db-1", state=ContainerState.RUNNING, node=node)
    page = browser.get("/services/").content.decode()
    order = ["Stack shop", 'data-service="db"', "Standalone services", 'data-service="lonely"']
    assert [page.index(text) for text in order] == sorted(page.index(text) for text in order)
    assert 'class="state state-running">Running' in page and 'state-stopped">Stopped' in page
    assert '<span class="count">1/1</span>' in page and "node-a" in page
    partial = browser.get("/services/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="service-rows"') and "<html" not in partial


def test_quick_actions_call_the_use_cases_and_show_refusals(browser, user):
    service = make_service(user, state=ServiceState.STOPPED)
    response = browser.post(f"/services/{service.uuid}/stop/", {"from": "list", "page": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/services/?page=1"
    service.refresh_from_db()
    assert service.state == ServiceState.STOPPED
    response = browser.post(f"/services/{service.uuid}/scale/", {"target_num_containers": "3"}, follow=True)
    assert "Scaling web to 3." in response.content.decode()
    service.refresh_from_db()
    assert service.target_num_containers == 3 and service.state == ServiceState.SCALING
    assert service.containers.live().count() == 3
    response = browser.post(f"/services/{service.uuid}/redeploy/", follow=True)
    assert "Cannot redeploy the service while it is Scaling." in response.content.decode()
    other = make_service(user, "other", state=ServiceState.STOPPED)
    response = browser.post(f"/services/{other.uuid}/redeploy/", follow=True)
    assert "Redeploying other." in response.content.decode()
    other.refresh_from_db()
    assert other.state == ServiceState.REDEPLOYING


def test_scale_is_checked_as_the_api_checks_it(browser, user, settings):
    settings.TUTUM_MAX_CONTAINERS_PER_APPLICATION = 5
    service = make_service(user, state=ServiceState.STOPPED)
    response = browser.post(f"/services/{service.uuid}/scale/", {"target_num_containers": "6"}, follow=True)
    assert "Ensure this value is less than or equal to 5." in response.content.decode()
    service.refresh_from_db()
    assert service.target_num_containers == 1


def test_terminate_asks_first_then_terminates(browser, user):
    service = make_service(user)
    confirm = browser.get(f"/services/{service.uuid}/terminate/").content.decode()
    assert "Terminate web?" in confirm and "cannot be undone" in confirm
    service.refresh_from_db()
    assert service.state == ServiceState.RUNNING
    assert browser.post(f"/services/{service.uuid}/terminate/")["Location"] == "/services/"
    service.refresh_from_db()
    assert service.state == ServiceState.TERMINATING


def test_new_service_creates_and_starts_what_the_api_would(browser, user):
    target = make_service(user, "db")
    response = browser.post(
        "/services/new/",
        {
            "image": "local/httpd:2.4",
            "name": "site",
            "target_num_containers": "2",
            "ports": "8080:80 53/udp",
            "env": "GREETING=hello world\nEMPTY=",
            "links": [f"/api/v1/service/{target.uuid}/"],
            "autorestart": "ALWAYS",
            "deployment_strategy": "HIGH_AVAILABILITY",
            "tags": "web, eu",
        },
    )
    service = Service.objects.get(owner=user, name="site")
    assert response["Location"] == f"/services/{service.uuid}/"
    assert (service.image_repository, service.image_tag_name) == ("local/httpd", "2.4")
    assert service.state == ServiceState.STARTING and service.containers.live().count() == 2
    assert [(p.outer_port, p.inner_port, p.protocol) for p in service.ports.all()] == [
        (8080, 80, "tcp"),
        (None, 53, "udp"),
    ]
    assert [(e.key, e.value) for e in service.envvars.all()] == [("GREETING", "hello world"), ("EMPTY", "")]
    assert [link.to_service for link in service.links_out.all()] == [target]
    assert (service.autorestart, service.deployment_strategy, service.tags) == (
        "ALWAYS",
        "HIGH_AVAILABILITY",
        ["web", "eu"],
    )


def test_new_service_shows_the_serializers_messages_next_to_the_fields(browser, user):
    response = browser.post(
        "/services/new/",
        {
            "image": "Not An Image!",
            "name": "-bad",
            "target_num_containers": "1",
            "ports": "99999 8080:80:1",
            "env": "1BAD=x\nnoequals",
            "autorestart": "OFF",
            "deployment_strategy": "EMPTIEST_NODE",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "is not a valid image reference" in form.errors["image"][0]
    assert form.errors["name"] == ["Use 1 to 63 letters, digits and hyphens, starting with a letter or digit."]
    assert any("'8080:80:1'" in message for message in form.errors["ports"])
    assert any("'noequals'" in message for message in form.errors["env"])
    assert not Service.objects.filter(owner=user).exists()
    page = response.content.decode()
    assert 'id="id_image_errors"' in page and 'id="id_ports_errors"' in page
    # The text is read, then the API's own checks run on what it says: a port out of range, a bad name.
    response = browser.post(
        "/services/new/",
        {"image": "local/httpd", "target_num_containers": "1", "ports": "99999", "env": "1BAD=x"}
        | {"autorestart": "OFF", "deployment_strategy": "EMPTIEST_NODE"},
    )
    errors = response.context["form"].errors
    assert errors["ports"] == ["[0].inner_port: Ensure this value is less than or equal to 65535."]
    assert "'1BAD' is not a valid variable name" in errors["env"][0]


def test_links_offer_only_the_users_own_services(browser, user, other_user):
    make_service(user, "mine")
    theirs = make_service(other_user, "theirs")
    page = browser.get("/services/new/").content.decode()
    assert "mine" in page and "theirs" not in page
    response = browser.post(
        "/services/new/",
        {"image": "local/httpd", "target_num_containers": "1", "links": [f"/api/v1/service/{theirs.uuid}/"]}
        | {"autorestart": "OFF", "deployment_strategy": "EMPTIEST_NODE"},
    )
    assert response.status_code == 200 and "links" in response.context["form"].errors


def test_edit_changes_only_what_changed_and_redeploys_when_asked(browser, user):
    service = make_service(user, state=ServiceState.RUNNING)
    Container.objects.create(service=service, number=1, unique_name="web-1", state=ContainerState.RUNNING)
    ServiceEnvVar.objects.create(service=service, key="A", value="1")
    ServiceEnvVar.objects.create(service=service, key="B", value="2")
    response = browser.post(
        f"/services/{service.uuid}/edit/",
        {"image": "local/httpd:latest", "target_num_containers": "1", "env": "A=1\r\nB=2\r\n"},
        follow=True,
    )
    assert "Nothing changed." in response.content.decode()
    service.refresh_from_db()
    assert service.synchronized  # the same text, sent with a browser's line ends
    assert not Action.objects.filter(target_uuid=service.uuid).exists()
    browser.post(
        f"/services/{service.uuid}/edit/",
        {"image": "local/httpd:latest", "target_num_containers": "1", "env": "A=1\r\n", "redeploy": "on"},
    )
    service.refresh_from_db()
    assert [(e.key, e.value) for e in service.envvars.all()] == [("A", "1")]
    assert service.state == ServiceState.REDEPLOYING and service.synchronized


def test_service_page_shows_containers_with_links_to_their_published_ports(browser, user):
    service = make_service(user)
    node = Node.objects.create(name="node-a", docker_host="tcp://10.0.0.1:2376", publish_address="10.0.0.1")
    container = Container.objects.create(
        service=service, number=1, unique_name="web-1", state=ContainerState.STOPPED, node=node, exit_code=1
    )
    container.ports.create(inner_port=80, outer_port=32768, protocol="tcp")
    Container.objects.filter(pk=container.pk).update(exit_code_msg="boom")
    page = browser.get(f"/services/{service.uuid}/").content.decode()
    assert '<a class="port" href="http://10.0.0.1:32768/">10.0.0.1:32768</a>' in page
    assert "1: boom" in page
    partial = browser.get(f"/services/{service.uuid}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<section id="service-status"') and "web-1" in partial


def test_lists_of_a_thousand_services_cost_the_same_queries_as_one(browser, user, django_assert_max_num_queries):
    node = Node.objects.create(name="node-a", docker_host="tcp://10.0.0.1:2376")
    make_service(user, "first")
    with django_assert_max_num_queries(12) as one:
        browser.get("/services/")
    services = Service.objects.bulk_create(
        Service(owner=user, name=f"s{n}", unique_name=f"s{n}", image_repository="local/httpd") for n in range(1000)
    )
    Container.objects.bulk_create(
        Container(service=s, number=1, unique_name=f"{s.name}-1", node=node, state=ContainerState.RUNNING)
        for s in services
    )
    with django_assert_max_num_queries(len(one)):
        response = browser.get("/services/?page=3")
    assert response.status_code == 200 and "Page 3 of 21" in response.content.decode()
    with django_assert_max_num_queries(len(one) + 1):  # the page's containers
        browser.get("/containers/?page=2")


def test_nodes_show_their_details_to_staff_only(browser, user):
    Node.objects.create(name="node-a", docker_host="tcp://10.0.0.1:2376", tags=["eu"])
    page = browser.get("/nodes/").content.decode()
    assert "node-a" in page and "eu" in page and "tcp://10.0.0.1:2376" not in page
    user.is_staff = True
    user.save()
    assert "tcp://10.0.0.1:2376" in browser.get("/nodes/").content.decode()


def test_the_action_log_lists_the_users_own_actions_filtered_by_state_and_object(browser, user, other_user):
    from apps.services import services as use_cases

    service = make_service(user, state=ServiceState.STOPPED)
    other = make_service(user, "other", state=ServiceState.STOPPED)
    theirs = make_service(other_user, "theirs", state=ServiceState.STOPPED)
    for target in (service, other, theirs):
        use_cases.update_service(target, {"target_num_containers": 2}, scale=True)
    page = browser.get("/actions/").content.decode()
    assert page.count("Service Update") == 2 and str(theirs.uuid) not in page
    filtered = browser.get(f"/actions/?object={service.uuid}").content.decode()
    assert filtered.count("Service Update") == 1 and f"/api/v1/service/{service.uuid}/" in filtered
    assert "No actions match." in browser.get("/actions/?state=Failed").content.decode()


def test_a_stack_is_created_from_a_pasted_stack_file_or_its_problems_are_shown(browser, user):
    stack_file = (
        "web:\n  image: local/httpd\n  target_num_containers: 2\n  links:\n    - db\ndb:\n  image: local/busybox\n"
    )
    response = browser.post("/stacks/", {"name": "shop", "stack_file": stack_file})
    assert response.status_code == 302
    services = {s.name: s for s in Service.objects.filter(owner=user, stack__name="shop")}
    assert sorted(services) == ["db", "web"] and services["web"].target_num_containers == 2
    assert [link.to_service for link in services["web"].links_out.all()] == [services["db"]]
    page = browser.get("/stacks/").content.decode()
    assert "shop" in page and 'data-label="State"' in page
    response = browser.post("/stacks/", {"name": "bad", "stack_file": "web:\n  image: 'Not An Image!'\n"})
    assert response.status_code == 200
    assert any("web: image:" in error for error in response.context["form"].errors["stack_file"])
    response = browser.post("/stacks/", {"name": "worse", "stack_file": "web: [unclosed"})
    assert response.context["form"].errors["stack_file"][0].startswith("Not YAML:")


def test_a_stack_is_started_through_the_stacks_use_case_and_only_by_its_owner(browser, user, other_user):
    from apps.stacks.services import create_stack

    stack = create_stack(user, "shop", {"web": {"image": "local/httpd"}})
    theirs = create_stack(other_user, "theirs", {"web": {"image": "local/httpd"}})
    assert browser.post(f"/stacks/{theirs.uuid}/start/").status_code == 404
    response = browser.post(f"/stacks/{stack.uuid}/start/", follow=True)
    assert "Starting stack shop." in response.content.decode()
    assert Service.objects.get(stack=stack).state == ServiceState.STARTING
    assert Service.objects.get(stack=theirs).state == ServiceState.NOT_RUNNING


def test_the_vendored_files_are_served_without_debug_or_a_web_server(client, settings):
    settings.DEBUG = False
    response = client.get("/static/dashboard/htmx-2.0.11.min.js")
    assert response.status_code == 200 and b"htmx" in b"".join(response.streaming_content)[:200]
    page = client.get("/login/").content.decode()
    assert 'src="/static/dashboard/htmx-2.0.11.min.js"' in page
    assert "://" not in page.split("</head>")[0]  # nothing from another site, no CDN


def test_an_unknown_quick_action_is_a_404(browser, user):
    service = make_service(user)
    assert browser.post(f"/services/{service.uuid}/explode/").status_code == 404


def test_logs_say_when_the_engine_refuses_instead_of_failing_the_poll(browser, user, settings):
    settings.TUTUM_LOG_READER = "tests.ui.test_pages.refusing_log_reader"
    service = make_service(user)
    Container.objects.create(service=service, number=1, unique_name="web-1", state=ContainerState.RUNNING)
    response = browser.get(f"/services/{service.uuid}/logs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The engine did not give the logs: refused" in response.content.decode()


def refusing_log_reader(container):
    raise RuntimeError("refused")

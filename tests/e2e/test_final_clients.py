"""The final official clients of 2015 (CLI `tutum` 0.21.1, SDK `python-tutum` 0.21.2), unmodified, on Python
2.7, against pytest-django's live server: what works with them today.

The whole everyday scenario (services, containers, nodes, actions, triggers) is written out step by step in
final_scenario_draft.py, which pytest does not collect yet: it needs the 2015 resources (`/api/v1/service/`,
`/stack/`, `/action/`, the 2015 node fields) that the server does not serve yet. docs/wire-2015.md lists what
each command sends and reads.
"""

import base64
import configparser

import pytest

from apps.accounts.models import ApiKey

from .final_clients import CLI_VERSION, SDK_VERSION, final_cli, final_clients  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_install_is_the_pinned_releases(final_clients, tmp_path):  # noqa: F811
    cli = final_clients.cli("http://127.0.0.1:9", None, None, home=tmp_path)
    version = cli("--version")
    assert version.returncode == 0, version.describe()
    assert (version.stdout + version.stderr).strip() == f"tutum {CLI_VERSION}"  # Python 2's argparse: stderr
    # The SDK folder is 0.21.2; the CLI runs on the SDK it pins (its pkg_resources entry script resolves it).
    assert cli.sdk_json("import json, tutum; print(json.dumps(tutum.__version__))") == SDK_VERSION
    cli_sdk = final_clients.info["FINAL_CLIENTS_CLI_PYTHONPATH"]
    probe = cli.sdk(f"import sys; sys.path.insert(0, {cli_sdk!r}); import tutum, tutumcli; print(tutum.__version__)")
    assert probe.stdout.strip() == CLI_VERSION, probe.describe()
    # Nothing is patched: the console script is pip's easy_install entry script for the pinned tree.
    entry = (final_clients.dir / "cli" / "bin" / "tutum").read_text()
    assert "load_entry_point('tutum==0.21.1', 'console_scripts', 'tutum')" in entry


def test_sdk_verifies_a_password_at_the_auth_endpoint(final_cli):  # noqa: F811
    result = final_cli.sdk_json(
        f"""
        import json
        import tutum

        try:
            tutum.auth.verify_credential("alice", "wrong-password")
            refused = None
        except tutum.TutumAuthError as exc:
            refused = str(exc)
        tutum.auth.verify_credential("alice", {final_cli.password!r})
        print(json.dumps({{"refused": refused}}))
        """
    )
    assert result == {"refused": "Not authorized"}


def test_cli_login_with_a_password_stores_basic_auth_in_home(final_cli, user):  # noqa: F811
    refused = final_cli("login", "-u", "alice", "-p", "wrong-password")
    assert (refused.returncode, refused.stdout, refused.stderr) == (3, "", "Not authorized\n")
    assert not (final_cli.home / ".tutum").exists()

    assert final_cli.ok("login", "-u", "alice", "-p", final_cli.password) == "Login succeeded!\n"
    config = configparser.ConfigParser()
    config.read(final_cli.home / ".tutum")
    assert base64.b64decode(config["auth"]["basic_auth"]).decode() == f"alice:{final_cli.password}"


def test_sdk_lists_with_the_api_key_as_basic_auth(final_cli):  # noqa: F811
    """TUTUM_USER + TUTUM_APIKEY become `Authorization: Basic b64(user:key)` on every SDK request; the 2014
    resources already take that form."""
    result = final_cli.sdk_json(
        """
        import json
        import tutum

        print(json.dumps({"header": tutum.auth.get_auth_header(),
                          "containers": [c.uuid for c in tutum.Container.list()]}))
        """
    )
    token = base64.b64encode(f"alice:{final_cli.key}".encode()).decode()
    assert result == {"header": {"Authorization": f"Basic {token}"}, "containers": []}


def test_sdk_sends_tutum_auth_verbatim(final_cli, user):  # noqa: F811
    """TUTUM_AUTH (what a container with the `global` role receives) is sent as the whole header."""
    _, key = ApiKey.issue(user)
    env = {k: v for k, v in final_cli.env.items() if k not in ("TUTUM_USER", "TUTUM_APIKEY")}
    cli = final_cli.with_env(env | {"TUTUM_AUTH": f"ApiKey alice:{key}"})
    result = cli.sdk_json(
        """
        import json
        import tutum

        print(json.dumps({"header": tutum.auth.get_auth_header(),
                          "containers": [c.uuid for c in tutum.Container.list()]}))
        """
    )
    assert result == {"header": {"Authorization": f"ApiKey alice:{key}"}, "containers": []}


NODE_HEADERS = ["UUID", "FQDN", "LASTSEEN", "STATUS", "CLUSTER", "DOCKER_VER"]


def test_cli_auth_check_accepts_the_api_key_and_refuses_a_wrong_one(final_cli):  # noqa: F811
    # `node list` is GET /api/v1/auth/, then GET /api/v1/node/ (no nodes here: no worker registered one).
    assert final_cli.ok("node", "list").split() == NODE_HEADERS

    # A refused key is a 401 at the auth check: the CLI asks for a login, reads EOF (no terminal) and dies
    # with a traceback (exit 1). A 403 or any other status would be an API error instead.
    wrong = final_cli.with_env(final_cli.env | {"TUTUM_APIKEY": "0" * 40})("node", "list")
    assert wrong.returncode == 1, wrong.describe()
    assert wrong.stderr.startswith("Not Authorized, Please login:\n"), wrong.describe()
    assert wrong.stderr.rstrip().endswith("EOFError: EOF when reading a line"), wrong.describe()


def test_cli_works_with_a_stored_login(final_cli):  # noqa: F811
    """After `tutum login`, with no TUTUM_USER/TUTUM_APIKEY, the CLI sends the stored Basic user:password on
    every request, the auth check included."""
    assert final_cli.ok("login", "-u", "alice", "-p", final_cli.password) == "Login succeeded!\n"
    env = {k: v for k, v in final_cli.env.items() if k not in ("TUTUM_USER", "TUTUM_APIKEY")}
    assert final_cli.with_env(env).ok("node", "list").split() == NODE_HEADERS

#!/usr/bin/env bash
# Builds the official Tutum clients of 2014 into their own virtualenv, var/clients/venv, apart from the
# project's .venv: the SDK `python-tutum` 0.7.5 (import `tutum`) and the CLI `tutum` 0.7.5.1 (command
# var/clients/venv/bin/tutum). They are Python 2 code: their sdists are downloaded from PyPI, converted with
# lib2to3 (shipped with Python <= 3.12) and patched with the few mechanical fixes below. The e2e tests in
# tests/e2e/test_official_clients.py call this script; it is safe to run twice and in parallel (a lock),
# and a second run reuses what is there unless this script changed. Prints the venv's path.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."

SDK_VERSION=0.7.5
CLI_VERSION=0.7.5.1
# Runtime dependencies, pinned to what works on Python 3.11. The clients' own pins cannot be used:
# requests==2.2.1 vendors an urllib3 that imports collections.MutableMapping (gone since Python 3.10), and
# PyYAML==3.10 does not build on 3.11. docker-py 0.3.2 (the CLI's `build`/`image push` only) imports fine
# with a modern requests, so it is installed as pinned but without its own requests==2.2.1 pin (--no-deps).
DEPS=(requests==2.32.3 six==1.17.0 tabulate==0.7.2 python-dateutil==2.9.0.post0 ago==0.0.6 PyYAML==6.0.2)
DOCKER_PY=docker-py==0.3.2

DIR=var/clients
VENV=$DIR/venv
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.built-$(sha256sum "$SELF" | cut -c1-16)"

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

if [ -f "$STAMP" ] && [ -x "$VENV/bin/tutum" ]; then
  echo "$PWD/$VENV"
  exit 0
fi

if ! "$PYTHON" -c "import lib2to3" 2>/dev/null; then
  echo "official-clients: $PYTHON has no lib2to3 (removed in Python 3.13); set PYTHON to a Python <= 3.12" >&2
  exit 1
fi

# 1. The sdists, downloaded once.
mkdir -p "$DIR/dist"
for spec in "python-tutum==$SDK_VERSION" "tutum==$CLI_VERSION"; do
  name=${spec%%==*}
  version=${spec##*==}
  if [ ! -f "$DIR/dist/$name-$version.tar.gz" ]; then
    "$PYTHON" -m pip download -q --no-deps --no-binary :all: -d "$DIR/dist" "$spec" >"$DIR/pip.log" 2>&1 || true
    [ -f "$DIR/dist/$name-$version.tar.gz" ] || { cat "$DIR/pip.log" >&2; echo "official-clients: cannot download $spec" >&2; exit 1; }
  fi
done

# 2. Fresh sources, converted to Python 3.
rm -rf "$DIR/src"
mkdir -p "$DIR/src"
tar -xzf "$DIR/dist/python-tutum-$SDK_VERSION.tar.gz" -C "$DIR/src"
tar -xzf "$DIR/dist/tutum-$CLI_VERSION.tar.gz" -C "$DIR/src"
SDK_SRC=$DIR/src/python-tutum-$SDK_VERSION
CLI_SRC=$DIR/src/tutum-$CLI_VERSION
# lib2to3 turns the implicit relative imports (`from http import send_request`, `from exceptions import ...`)
# into `from .http ...`, ConfigParser/urlparse/raw_input into their Python 3 names, u"" literals into "".
"$PYTHON" -W ignore -m lib2to3 -w -n "$SDK_SRC/tutum" "$CLI_SRC/tutumcli" >"$DIR/src/2to3.log" 2>&1 || {
  cat "$DIR/src/2to3.log" >&2
  exit 1
}

# 3. The mechanical fixes lib2to3 does not make. Each is checked: a fix that no longer applies is an error.
fix() { # fix FILE PYTHON-REGEX REPLACEMENT WHY
  "$PYTHON" - "$@" <<'EOF'
import re
import sys

path, pattern, replacement, why = sys.argv[1:5]
text = open(path, encoding="utf-8").read()
new, count = re.subn(pattern, replacement, text)
if not count:
    sys.exit(f"official-clients: fix not applicable to {path}: {why}")
open(path, "w", encoding="utf-8").write(new)
EOF
}
# (a) The CLI wraps stdout in a UTF-8 codecs writer so that Python 2 could print its ▶/◼ state symbols. On
#     Python 3 that writer hands bytes to the text stream and every print raises TypeError: wrap the binary
#     buffer underneath instead (same output bytes).
fix "$CLI_SRC/tutumcli/tutum_cli.py" "codecs\.getwriter\('utf8'\)\(sys\.stdout\)" \
  "codecs.getwriter('utf8')(sys.stdout.buffer)" "stdout writer"
# (b) Python 3 exceptions have no `.message`; the CLI prints `e.message` on `build`/`image push` errors.
fix "$CLI_SRC/tutumcli/commands.py" "\be\.message\b" "str(e)" "exception .message"
# (c) PyYAML >= 6 requires a Loader for yaml.load; the CLI's `build` reads a Procfile with it.
fix "$CLI_SRC/tutumcli/commands.py" "yaml\.load\(procfile\)" "yaml.safe_load(procfile)" "yaml.load"
# (d) setup.py reads requirements.txt into install_requires; those pins (requests==2.2.1, PyYAML==3.10,
#     python-tutum==0.7.5 which is installed from our converted copy) are replaced by the DEPS above.
: >"$SDK_SRC/requirements.txt"
: >"$CLI_SRC/requirements.txt"

# 4. The virtualenv: dependencies, then the two converted packages.
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
rm -f "$VENV"/.built-*
pip_install() {
  "$VENV/bin/pip" install -q --disable-pip-version-check "$@" >"$DIR/pip.log" 2>&1 || { cat "$DIR/pip.log" >&2; exit 1; }
}
pip_install "${DEPS[@]}"
pip_install --no-deps "$DOCKER_PY"
pip_install --no-deps --force-reinstall "./$SDK_SRC" "./$CLI_SRC"

# 5. Smoke test: both import and the CLI answers its version.
"$VENV/bin/python" -c "import tutum, tutumcli.commands, tutumcli.utils; assert tutum.__version__ == '$SDK_VERSION'"
[ "$(HOME=/nonexistent "$VENV/bin/tutum" --version 2>&1)" = "tutum $CLI_VERSION" ]

touch "$STAMP"
echo "$PWD/$VENV"

#!/usr/bin/env bash
# Installs the final official Tutum clients of 2015, unmodified, from PyPI, for the e2e tests
# (tests/e2e/final_clients.py) and for anyone who wants to drive the server with them by hand:
#   the CLI  tutum==0.21.1         (with the exact pins it declares, python-tutum==0.21.1 among them)
#   the SDK  python-tutum==0.21.2  (the last SDK release)
# They are Python 2 code and run on pyenv's Python 2.7.18 as they are (no conversion, no patch).
#
# Layout, in var/final-clients/<first 16 hex digits of this script's sha256>/:
#   cli/      pip install --target of tutum==0.21.1; cli/bin/tutum is its console script
#   sdk/      pip install --target of python-tutum==0.21.2
#   bin/tutum         runs the CLI:  PYTHONPATH=cli python2.7 cli/bin/tutum "$@"
#   bin/python-sdk    runs Python 2.7 with the SDK importable: PYTHONPATH=sdk python2.7 "$@"
#
# Why two folders: the CLI pins python-tutum==0.21.1, and its console script is an easy_install entry
# script that starts with `__requires__ = 'tutum==0.21.1'` and `pkg_resources.load_entry_point(...)`:
# pkg_resources resolves the whole pinned tree before the CLI runs. Installed into one --target together,
# pip 19 lets the top-level python-tutum==0.21.2 win (it only prints "ERROR: tutum 0.21.1 has requirement
# python-tutum==0.21.1") and the CLI then dies with DistributionNotFound. Apart, each is exactly what its
# users had: the CLI on its own SDK (User-Agent "tutum-cli/0.21.1 python-tutum/0.21.1"), the SDK at 0.21.2.
#
# pip: Python 2.7.18's own pip 19.2.3 (the last pip versions for 2.7 are 20.3.x; 19.2.3 is what pyenv
# ships and it is enough). No trick is needed: every dependency is either a py2 wheel or a setup.py sdist
# without pyproject.toml, so pip 19 builds them the legacy way (no build isolation, no PEP 517), and
# PyYAML 3.10 compiles its C extension or falls back to pure Python on its own. The only care taken:
# PYTHONNOUSERSITE=1, so that no ~/.local of the machine leaks into the install or the runs.
#
# Safe to run twice and in parallel: one flock; a finished install is marked by a stamp and reused; a
# half-done one (killed mid-way) is built again from scratch in a temporary folder and moved into place.
# Prints, as KEY=VALUE lines (paths have no spaces), what the tests need; the last line is the folder.
# Set PYTHON2 to use another Python 2.7 interpreter.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."

CLI_VERSION=0.21.1
SDK_VERSION=0.21.2
SDK_OF_CLI=0.21.1 # the CLI's own pin

find_python2() {
  if [ -n "${PYTHON2:-}" ]; then
    echo "$PYTHON2"
    return
  fi
  local root=""
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
  elif [ -x "${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv" ]; then
    root="$("${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv" root)"
  elif [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then
    root="${PYENV_ROOT:-$HOME/.pyenv}"
  fi
  echo "$root/versions/2.7.18/bin/python"
}
PYTHON2="$(find_python2)"
if ! [ -x "$PYTHON2" ] || ! "$PYTHON2" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
  echo "final-clients: no Python 2.7 at $PYTHON2 (install it with 'pyenv install 2.7.18', or set PYTHON2)" >&2
  exit 1
fi
export PYTHONNOUSERSITE=1

BASE=var/final-clients
DIR="$BASE/$(sha256sum "$SELF" | cut -c1-16)"
STAMP="$DIR/.installed"

report() {
  local abs="$PWD/$DIR"
  echo "FINAL_CLIENTS_PYTHON=$PYTHON2"
  echo "FINAL_CLIENTS_CLI_PYTHONPATH=$abs/cli"
  echo "FINAL_CLIENTS_CLI=$abs/bin/tutum"
  echo "FINAL_CLIENTS_SDK_PYTHONPATH=$abs/sdk"
  echo "FINAL_CLIENTS_SDK_PYTHON=$abs/bin/python-sdk"
  echo "FINAL_CLIENTS_DIR=$abs"
}

mkdir -p "$BASE"
exec 9>"$BASE/.lock"
flock 9

if [ -f "$STAMP" ]; then
  report
  exit 0
fi

# Build in a fresh temporary folder, then move it into place: a run killed half-way leaves no folder that
# looks installed. Folders of older versions of this script are removed (they are only caches).
rm -rf "$BASE"/.tmp-*
TMP="$(mktemp -d "$BASE/.tmp-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
for old in "$BASE"/*/; do
  [ -d "$old" ] && [ "${old%/}" != "$DIR" ] && rm -rf "$old"
done
rm -rf "$DIR"

pip_install() { # pip_install TARGET SPEC
  "$PYTHON2" -m pip install -q --disable-pip-version-check --no-warn-script-location --target "$1" "$2" \
    >"$TMP/pip.log" 2>&1 || {
    cat "$TMP/pip.log" >&2
    echo "final-clients: pip install $2 failed" >&2
    exit 1
  }
}
pip_install "$TMP/cli" "tutum==$CLI_VERSION"
pip_install "$TMP/sdk" "python-tutum==$SDK_VERSION"

# The console script pip wrote hard-codes the interpreter in its #! line; the wrappers call it explicitly.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/tutum" <<EOF
#!/bin/sh
# The final Tutum CLI $CLI_VERSION, unmodified, on Python 2.7 (written by scripts/final-clients.sh).
here="\$(cd "\$(dirname "\$0")/.." && pwd)"
PYTHONPATH="\$here/cli" PYTHONNOUSERSITE=1 exec "$PYTHON2" "\$here/cli/bin/tutum" "\$@"
EOF
cat >"$TMP/bin/python-sdk" <<EOF
#!/bin/sh
# Python 2.7 with the final Tutum SDK $SDK_VERSION importable (written by scripts/final-clients.sh).
here="\$(cd "\$(dirname "\$0")/.." && pwd)"
PYTHONPATH="\$here/sdk" PYTHONNOUSERSITE=1 exec "$PYTHON2" "\$@"
EOF
chmod +x "$TMP/bin/tutum" "$TMP/bin/python-sdk"

# Smoke check, on the folder as installed: the CLI answers its version through its pkg_resources entry
# script (which resolves every pin), the CLI's modules import its own SDK, and the SDK folder gives 0.21.2.
version="$(HOME=/nonexistent "$TMP/bin/tutum" --version 2>&1)" || true
[ "$version" = "tutum $CLI_VERSION" ] || {
  echo "final-clients: 'tutum --version' answered: $version" >&2
  exit 1
}
PYTHONPATH="$TMP/cli" "$PYTHON2" -c "
import tutum, tutumcli.commands, tutumcli.utils
assert tutum.__version__ == '$SDK_OF_CLI', tutum.__version__"
"$TMP/bin/python-sdk" -c "
import tutum
assert tutum.__version__ == '$SDK_VERSION', tutum.__version__"

touch "$TMP/.installed"
mv "$TMP" "$DIR"
trap - EXIT
report

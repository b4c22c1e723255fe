#!/usr/bin/env bash
# Installs schemathesis (the API fuzzer of tests/fuzz/run.sh) at a pinned version into a venv under
# the test run dir. Run by tests/run.sh before the cargo tests; a second run with the pinned version
# already installed does nothing.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

: "${STUDIO_TEST_RUN_DIR:?run this through tests/run.sh (STUDIO_TEST_RUN_DIR is unset)}"
venv="$STUDIO_TEST_RUN_DIR/fuzz-venv"

installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
if [ "$installed" = "$SCHEMATHESIS_VERSION" ]; then
  echo "schemathesis $SCHEMATHESIS_VERSION already in $venv"
  exit 0
fi

# Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
if ! python3 -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "python3 cannot create a venv: install python3-venv (as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "schemathesis==$SCHEMATHESIS_VERSION"
"$venv/bin/schemathesis" --version

#!/usr/bin/env bash
# The one command that runs Studio's whole test suite on a fresh machine:
#
#     bash tests/run.sh
#
# It installs everything the tests need (system packages, npm packages, Chromium), starts a
# throwaway PostgreSQL cluster (unless STUDIO_TEST_POSTGRES_URL or DATABASE_URL is set), then runs
# formatting, lints and every test of the workspace. CI (.ci/run) calls exactly this.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# Each test server keeps its renderers' Unix sockets under its data dir in this run dir, and a
# socket path has at most 107 bytes: wherever the checkout lies, the run dir's path is short. It
# is also below /tmp, whose every parent the jail's user (studio-sandbox) can search: a jail
# binds paths of the data dir, and a checkout below a private home directory would refuse that.
export STUDIO_TEST_RUN_DIR="/tmp/studio-run-$(printf %s "$root" | sha256sum | cut -c1-8)"
mkdir -p "$STUDIO_TEST_RUN_DIR"
chmod 755 "$STUDIO_TEST_RUN_DIR"

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
bash tests/setup/system.sh

step "Rust tools"
bash tests/setup/rust.sh

step "npm packages"
for script in tests/setup/npm-*.sh; do
  [ -e "$script" ] && bash "$script"
done

step "Python packages"
bash tests/setup/python-fuzz.sh

step "PostgreSQL"
# shellcheck source=tests/setup/postgres.sh
source tests/setup/postgres.sh
trap postgres_stop EXIT

step "cargo fmt"
cargo fmt --all --check

step "module circles"
python3 tests/lint/module_cycles.py

step "unused dependencies"
cargo machete

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "doc tests"
cargo test --workspace --doc --locked

step "tests"
# Scheduling (slow-test limits, tests that need both cores) lives in .config/nextest.toml.
cargo nextest run --workspace --locked --no-fail-fast

step "API fuzzing"
bash tests/fuzz/run.sh

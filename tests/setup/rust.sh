#!/usr/bin/env bash
# Makes sure the Rust tools the suite runs are there:
#   the toolchain rust-toolchain.toml pins (1.95.0): rustup cannot download one on these machines,
#     so when only `stable` is installed and it is 1.95.0, it is linked under that name;
#   cargo-nextest  the test runner (.config/nextest.toml);
#   cargo-machete  fails the suite on a dependency a crate declares but never uses.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if command -v rustup >/dev/null 2>&1 && ! rustup toolchain list | grep -q "^$pinned"; then
  stable_sysroot=$(rustup run stable rustc --print sysroot)
  if rustup run stable rustc --version | grep -q "^rustc $pinned "; then
    rustup toolchain link "$pinned" "$stable_sysroot"
    echo "linked the installed stable toolchain ($pinned) as $pinned"
  else
    echo "rust-toolchain.toml pins $pinned, which is not installed (stable is $(rustup run stable rustc --version))" >&2
    exit 1
  fi
fi

# cargo-nextest comes with the machine; it is built from source only where it is missing.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install cargo-nextest --version 0.9.143 --locked --quiet
fi
# Pinned, so a new release cannot change what the suite checks (about a minute to build).
machete=0.9.2
if ! cargo machete --version 2>/dev/null | grep -qF "$machete"; then
  echo "installing cargo-machete $machete"
  cargo install cargo-machete --version "$machete" --locked --quiet
fi
echo "Rust tools: $(rustc --version); $(cargo nextest --version | head -n 1); cargo-machete $(cargo machete --version)"

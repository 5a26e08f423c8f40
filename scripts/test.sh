#!/usr/bin/env bash
# The project's one test command (README, .ci/run). Warnings are errors.
# Slow prerequisites are cached under ~/.cache/paraform so only a fresh
# machine pays for them: the polkadot binary is extracted from
# ../shared/bin (or taken from POLKADOT_BIN / PATH) by scripts/polkadot-bin.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
export POLKADOT_BIN="${POLKADOT_BIN:-$(scripts/polkadot-bin.sh)}"
echo "test.sh: using polkadot at $POLKADOT_BIN ($("$POLKADOT_BIN" --version))"

cargo fmt --all -- --check
cargo build --all-targets --locked
# Lints (Cargo.toml [lints]: no unwrap/expect/panic outside tests).
cargo clippy --all-targets --locked -- -D warnings
# (Benches are built above, not run: they are measured by hand. There are
# no doctests; leaving them out keeps the last line a real test count.)
# Real-node tests start several polkadot processes each; two test threads keep
# a 2-core machine responsive enough for 6 s block times.
cargo test --locked --lib --bins --tests -- --test-threads="${PARAFORM_TEST_THREADS:-2}"

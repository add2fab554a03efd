#!/usr/bin/env bash
# A profile-guided (PGO) build of authgate with cargo-pgo: an instrumented release build,
# trained on the load bench's authgate cases, then the build optimised with that profile,
# copied to target/authgate-pgo. Compare it with the plain release build:
#   BIN=$PWD/target/authgate-pgo benches/load.sh   against   benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_PGO_VERSION=0.3.0

[ "$(cargo pgo --version 2>/dev/null)" = "cargo-pgo $CARGO_PGO_VERSION" ] \
  || cargo install cargo-pgo --version "$CARGO_PGO_VERSION" --locked -q
rustup component add llvm-tools-preview >/dev/null 2>&1
triple=$(rustc -vV | sed -n 's/^host: //p')
bin=$PWD/target/$triple/release/authgate

rm -rf target/pgo-profiles
cargo pgo build -- -q
# Training: every authgate case of the load bench, one round each. The processes write their
# profiles when they exit, after the bench's SIGTERM.
BIN=$bin ROUNDS=1 DURATION=10s KERNEL_CASES= CASES="public session bearer redis authreq tls h2" benches/load.sh >/dev/null
while pgrep -f "$bin" >/dev/null; do sleep 0.5; done
ls target/pgo-profiles/*.profraw >/dev/null
cargo pgo optimize -- -q
cp "$bin" target/authgate-pgo
echo "built target/authgate-pgo"

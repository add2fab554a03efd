#!/usr/bin/env bash
# Measures the Pingora patches in this folder.
#   docs/pingora-patches/measure.sh micro     each patch's micro-benchmark: the operation it
#                                             changes, old against new, with farm-bench
#   docs/pingora-patches/measure.sh build     authgate's release binary built on Pingora 0.9.1
#                                             with every patch applied (a local
#                                             [patch.crates-io], never committed), copied to
#                                             target/authgate-patched; then
#                                             BIN=target/authgate-patched benches/load.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Iterations per case: about a second of CPU for the old variant on the machine of BENCHMARKS.md.
declare -A N=([httparse]=10000000 [peer]=5000000 [insert]=1000000 [body]=20000000 [response]=3000000 [pool]=1000000)

micro() {
  export CARGO_TARGET_DIR=$root/target/pingora-micro
  (cd "$here/micro" && cargo build --release -q)
  local bin=$CARGO_TARGET_DIR/release/pingora-patch-micro n
  for case in httparse peer insert body response pool; do
    n=${N[$case]}
    echo "== $case, $n iterations: new against old"
    farm-bench -n 5 --vs "$bin $case old $n" -- "$bin" "$case" new "$n"
  done
}

build() {
  local work=$root/target/pingora-patched registry
  registry=$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)
  (cd "$root" && cargo fetch -q)
  rm -rf "$work" && mkdir -p "$work"
  for crate in pingora-core pingora-http; do cp -r "$registry/$crate-0.9.1" "$work/$crate"; done
  (cd "$work" && for p in "$here"/0*.patch; do patch -s -p1 <"$p"; done)
  cp "$root/Cargo.toml" "$work/Cargo.toml.authgate"
  cp "$root/Cargo.lock" "$work/Cargo.lock.authgate"
  # Put authgate back as it was, however the build ends (the paths are expanded now: the
  # trap runs after this function's locals are gone).
  trap "cp '$work/Cargo.toml.authgate' '$root/Cargo.toml'; cp '$work/Cargo.lock.authgate' '$root/Cargo.lock'
        cd '$root' && git apply -R '$here/authgate-opt-in.patch'" EXIT
  (cd "$root" && git apply "$here/authgate-opt-in.patch")
  printf '\n[patch.crates-io]\npingora-core = { path = "%s/pingora-core" }\npingora-http = { path = "%s/pingora-http" }\n' \
    "$work" "$work" >>"$root/Cargo.toml"
  (cd "$root" && cargo build --release -q && cp target/release/authgate target/authgate-patched)
  echo "built target/authgate-patched"
}

case ${1:-} in
  micro) micro ;;
  build) build ;;
  *) echo "usage: $0 micro|build" >&2; exit 2 ;;
esac

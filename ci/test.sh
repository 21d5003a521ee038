#!/usr/bin/env bash
# The project's test command: lint, every test tier (unit, simulation, CLI, a real registry and real OpenBao in Docker), a short run of
# each fuzz target, and the scenario catalog swept in simulation. It installs what the tests need when it is
# missing. `.ci/run` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# 100 seeds per scenario: on the exact engine the catalog costs about 3.5 s of CPU per seed (benches/README.md), so
# the sweep takes about 3 minutes of the 90-minute budget; the README's first command runs 1000, and
# FIREDRILL_CI_SEEDS=1000 restores that here.
seeds="${FIREDRILL_CI_SEEDS:-100}"

# Each step prints how long the one before it took, so a slow CI log says where its minutes went.
step_started=$SECONDS
step() {
  if [ -n "${step_name:-}" ]; then printf '<== %s: %d s\n' "$step_name" $((SECONDS - step_started)); fi
  step_name="$*"
  step_started=$SECONDS
  printf '\n==> %s\n' "$*"
}
trap 'if [ -n "${step_name:-}" ]; then printf "<== %s: %d s (total %d s)\n" "$step_name" $((SECONDS - step_started)) $SECONDS; fi' EXIT

step "format"
cargo fmt --all --check

step "clippy (default features with the docker backend, its tests, and the simulation-only build)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features docker-tests -- -D warnings
cargo clippy --all-targets --no-default-features -- -D warnings
cargo clippy --workspace --all-targets --features kind -- -D warnings

step "unit, simulation and CLI tests"
cargo test --workspace --release

step "the kind backend without a cluster: the context allowlist, the dry run, a cluster that does not answer"
cargo test --release -p firedrill-harness --features kind --lib
cargo test --release --features kind --test cli_kind

step "the HTML timeline in headless Chromium (no console error, no network request, lanes, fault, violation)"
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
cargo test --release --test report_browser -- --ignored

step "mutation testing of the shipped runbooks: every survivor is killed or a listed equivalent"
# On the reference engine at each scenario's own tick: the equivalent-mutants list was judged there, and the
# exact engine's cost per run (about 4x the 500 ms tick's, benches/README.md) would take CI past its budget.
cargo run --release --quiet -- mutate vault-stuck-leader --no-progress --engine turmoil
cargo run --release --quiet -- mutate vault-storage-migration --no-progress --engine turmoil

step "tests against a real registry and real OpenBao in Docker"
bash ci/docker-tests.sh

step "fuzz targets, ${FIREDRILL_FUZZ_SECONDS:-60} s each"
bash ci/fuzz.sh

step "the whole catalog, $seeds seeds each, in simulation"
cargo run --release --quiet -- sweep --all --seeds "$seeds" --no-progress

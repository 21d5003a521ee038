#!/usr/bin/env bash
# Runs the docker-gated tests: installs what is missing, builds the registry and OpenBao images, and runs the tests
# with the `docker-tests` feature (the backend itself is in the default build). With the feature on, a test that cannot reach Docker fails; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
# The Vault tier's hang filesystem mounts through fusermount3 (the fuser crate needs no libfuse to build).
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
if ((${#missing[@]})); then
  echo "docker-tests: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  echo "docker-tests: Docker is not reachable; the docker tests cannot run and this job fails." >&2
  exit 1
fi

eval "$(ci/registry-image.sh --export)"
echo "docker-tests: registry image $FIREDRILL_REGISTRY_IMAGE"

# Every build here is --release, as in ci/test.sh, so the job compiles the dependency tree once, not twice.
cargo test --release -p firedrill-harness --features docker-tests -- --nocapture
cargo test --release -p firedrill-probes --test registry_walk
cargo test --release --features docker-tests --test probe_registry_docker -- --nocapture
# The registry drill on a real container, and the differential test (model against the real registry).
# The default build has the docker backend (issue 13), as a new user builds it.
cargo build --release
target/release/firedrill run registry-orphan-index --seed 1 --backend docker
FIREDRILL_DIFF_CASES="${FIREDRILL_DIFF_CASES:-10}" \
  cargo test --release --features docker-tests --test registry_differential -- --nocapture --test-threads 1

# The Vault tier: real OpenBao 2.7.2 (from the pinned PyPI wheel) under a real write hang. It fails, never skips,
# when Docker, /dev/fuse or the image is missing. It runs the stuck-leader incident with the seed's runbook and
# with the two runbooks that confirm on the probes (umount -f, umount -l), and the healthy control, at the quick
# pace (the fault 20 s in, health held 60 s instead of 15 minutes; see `firedrill run --help`), each with its
# sim-against-real differential. Those four run at once (each cluster is mostly idle: about 4 minutes in all);
# then, alone, an interrupted run that must leave nothing behind (its leak check sees every drill's leftovers).
if [[ ! -e /dev/fuse ]]; then
  echo "docker-tests: /dev/fuse is missing; the Vault tier cannot run and this job fails." >&2
  exit 1
fi
eval "$(ci/openbao-image.sh --export)"
echo "docker-tests: OpenBao image $FIREDRILL_OPENBAO_IMAGE"
cargo build --release -p firedrill-hangfs
cargo test --release -p firedrill-hangfs
cargo test --release --features docker-tests --test vault_docker -- --nocapture --test-threads 4 \
  --skip an_interrupted_run_leaves_no_container_network_mount_or_process
cargo test --release --features docker-tests --test vault_docker -- --nocapture --test-threads 1 \
  an_interrupted_run_leaves_no_container_network_mount_or_process

# Containers are removed on drop; anything left carrying our image means a leak, which fails the job.
leftover="$(docker ps -aq --filter "ancestor=$FIREDRILL_REGISTRY_IMAGE")"
if [[ -n "$leftover" ]]; then
  echo "docker-tests: containers left behind: $leftover" >&2
  exit 1
fi
leftover="$(docker ps -aq --filter "label=firedrill.vault-run"; docker network ls -q --filter "label=firedrill.vault-run")"
if [[ -n "$leftover" ]] || grep -q firedrill-hangfs /proc/self/mountinfo; then
  echo "docker-tests: the Vault tier left containers, networks or mounts behind: $leftover" >&2
  exit 1
fi

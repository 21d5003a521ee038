#!/usr/bin/env bash
# The kind tier: a kind cluster from ci/kind/cluster.yaml, the docker backend's OpenBao image loaded into it,
# then the tier's tests. Without kind or a cluster it fails: the tier never passes silently.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v kind >/dev/null 2>&1; then
  echo "ci/kind/run.sh: the kind tier needs kind (https://kind.sigs.k8s.io) and Docker" >&2
  exit 1
fi
if ! kind get clusters | grep -qx firedrill; then
  kind create cluster --config ci/kind/cluster.yaml --wait 120s
fi
eval "$(bash ci/openbao-image.sh --export)"
eval "$(bash ci/hangfs-image.sh --export)"
kind load docker-image --name firedrill "$FIREDRILL_OPENBAO_IMAGE" "$FIREDRILL_HANGFS_IMAGE"
FIREDRILL_KIND_CONTEXT=kind-firedrill cargo test --release -p firedrill-harness --features kind-tests --test kind_tier

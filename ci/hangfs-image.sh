#!/usr/bin/env bash
# Builds the hang filesystem's image for the kind backend's DaemonSet, and prints its reference on stdout.
#
# No image can be pulled here: FROM scratch, the release `firedrill-hangfs` (built when missing), `fusermount3`
# (the fuser crate mounts through it; installed from Debian's fuse3 when missing) and the libraries `ldd` lists
# for both, at the paths they have on this machine. `ci/kind/run.sh` loads it into kind; the docker backend needs
# no image, since it mounts the hang filesystem on the host. `eval "$(ci/hangfs-image.sh --export)"` sets
# FIREDRILL_HANGFS_IMAGE, which the kind backend reads.
set -euo pipefail
cd "$(dirname "$0")/.."

image="firedrill/hangfs:$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  cargo build --release --quiet -p firedrill-hangfs >&2
  hangfs="${CARGO_TARGET_DIR:-target}/release/firedrill-hangfs"
  if ! command -v fusermount3 >/dev/null 2>&1; then
    echo "hangfs-image: installing Debian's fuse3" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 >&2
  fi
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  mkdir -p "$context/rootfs/bin" "$context/rootfs/tmp"
  cp "$hangfs" "$context/rootfs/bin/firedrill-hangfs"
  fusermount="$(command -v fusermount3)"
  # fuser looks for fusermount3 on PATH; the image's PATH is the Docker default, which includes /bin.
  cp "$fusermount" "$context/rootfs/bin/fusermount3"
  for binary in "$hangfs" "$fusermount"; do
    for library in $(ldd "$binary" | grep -o '/[^ ]*'); do
      mkdir -p "$context/rootfs$(dirname "$library")"
      cp -L "$library" "$context/rootfs$library"
    done
  done
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
ENTRYPOINT ["/bin/firedrill-hangfs"]
DOCKERFILE
  echo "hangfs-image: building $image" >&2
  docker build -q -t "$image" "$context" >&2
fi
# The kind backend's default name when FIREDRILL_HANGFS_IMAGE is unset: the newest build.
docker tag "$image" firedrill/hangfs:dev

if [[ "${1:-}" == "--export" ]]; then
  echo "export FIREDRILL_HANGFS_IMAGE=$image"
else
  echo "$image"
fi

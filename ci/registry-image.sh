#!/usr/bin/env bash
# Builds the registry image that the docker backend runs, and prints its reference on stdout.
#
# No image can be pulled here, so when `registry:2.8.3` is not already present locally, the image is built from
# Debian's `docker-registry` package (distribution v2.8.2): FROM scratch, the binary, the libraries `ldd` lists,
# and a config with deletes enabled and filesystem storage at /var/lib/registry. The tag states the true version.
# The harness reads FIREDRILL_REGISTRY_IMAGE; `eval "$(ci/registry-image.sh --export)"` sets it.
set -euo pipefail

upstream_image="registry:2.8.3"
if docker image inspect "$upstream_image" >/dev/null 2>&1; then
  image="$upstream_image"
else
  if ! command -v docker-registry >/dev/null 2>&1; then
    echo "registry-image: installing Debian's docker-registry" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >&2
  fi
  # "2.8.2+ds1-1" becomes "2.8.2": the upstream distribution version the package was built from.
  package_version="$(dpkg-query -W -f='${Version}' docker-registry)"
  upstream_version="${package_version%%+*}"
  upstream_version="${upstream_version%%-*}"
  image="firedrill/registry:${upstream_version}-debian"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    context="$(mktemp -d)"
    trap 'rm -rf "$context"' EXIT
    binary="$(command -v docker-registry)"
    mkdir -p "$context/rootfs/bin" "$context/rootfs/etc/docker/registry" "$context/rootfs/var/lib/registry" \
      "$context/rootfs/tmp"
    cp "$binary" "$context/rootfs/bin/registry"
    # Copy every library the dynamic loader needs, at the same absolute path it has on this machine.
    for library in $(ldd "$binary" | grep -o '/[^ ]*'); do
      mkdir -p "$context/rootfs$(dirname "$library")"
      cp -L "$library" "$context/rootfs$library"
    done
    cat >"$context/rootfs/etc/docker/registry/config.yml" <<'CONFIG'
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
CONFIG
    cat >"$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
LABEL org.opencontainers.image.version="${upstream_version}" \
      org.opencontainers.image.source="debian docker-registry ${package_version}"
EXPOSE 5000
VOLUME ["/var/lib/registry"]
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
    echo "registry-image: building $image from docker-registry $package_version" >&2
    docker build -q -t "$image" "$context" >&2
  fi
fi

if [[ "${1:-}" == "--export" ]]; then
  echo "export FIREDRILL_REGISTRY_IMAGE=$image"
else
  echo "$image"
fi

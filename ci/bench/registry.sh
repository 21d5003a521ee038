#!/usr/bin/env bash
# Benchmarks the registry probe on one real registry: firedrill vs a sequential curl/jq walk vs skopeo inspect,
# and the registry's HEAD throughput limit measured with hey. Prints a Markdown table for benches/README.md.
# Usage: ci/bench/registry.sh [REPOSITORIES]   (default 120)
set -euo pipefail
cd "$(dirname "$0")/../.."
repositories="${1:-120}"

missing=()
for tool in curl jq skopeo hey bc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
image="$(ci/registry-image.sh)"
cargo build -q --release --bin firedrill
cargo build -q --release -p firedrill-harness --features docker --example registry_fixture

container="$(docker run -d --rm -e REGISTRY_STORAGE_DELETE_ENABLED=true -p 127.0.0.1::5000 "$image")"
trap 'docker rm -f "$container" >/dev/null' EXIT
port="$(docker port "$container" 5000/tcp | head -1 | sed 's/.*://')"
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$url/v2/" >/dev/null && break; sleep 0.1; done
fixture="$(target/release/examples/registry_fixture "$url" "$repositories")"
blob_path="$(grep '^blob ' <<<"$fixture" | cut -d' ' -f2)"
tags="$(grep -c '^tag ' <<<"$fixture")"
version="$(docker exec "$container" /bin/registry --version 2>/dev/null || docker run --rm "$image" --version)"

now() { date +%s.%N; }
seconds() { echo "$2 - $1" | bc -l; }

# firedrill: best of three, after one warm-up walk.
target/release/firedrill probe registry --url "$url" --format json >/dev/null
best=""
for _ in 1 2 3; do
  start="$(now)"
  json="$(target/release/firedrill probe registry --url "$url" --format json --concurrency 32)"
  elapsed="$(seconds "$start" "$(now)")"
  if [[ -z "$best" ]] || (($(echo "$elapsed < $best" | bc -l))); then best="$elapsed"; fi
done
probe_requests="$(jq .requests <<<"$json")"
probe_broken="$(jq '.broken | length' <<<"$json")"

start="$(now)"
curl_out="$(ci/bench/registry-curl-walk.sh "$url")"
curl_seconds="$(seconds "$start" "$(now)")"

start="$(now)"
skopeo_count=0
for reference in $(grep '^tag ' <<<"$fixture" | cut -d' ' -f2); do
  skopeo inspect --tls-verify=false --override-os linux --override-arch amd64 "docker://127.0.0.1:$port/$reference" >/dev/null
  skopeo_count=$((skopeo_count + 1))
done
skopeo_seconds="$(seconds "$start" "$(now)")"

hey_out="$(hey -n 20000 -c 32 -m HEAD "$url$blob_path")"
hey_rps="$(grep 'Requests/sec' <<<"$hey_out" | awk '{print $2}')"
hey_ok="$(grep '\[200\]' <<<"$hey_out" | awk '{print $2}' || true)"

probe_rps="$(echo "$probe_requests / $best" | bc -l)"
printf '\nRegistry: %s (%s), %s repositories, %s tags. Machine: %s, %s cores. Date: %s\n\n' \
  "$image" "$version" "$repositories" "$tags" "$(uname -sm)" "$(nproc)" "$(date -u +%F)"
printf '| walker | what | time (s) | requests | requests/s |\n|---|---|---:|---:|---:|\n'
printf '| firedrill probe registry (32 conns) | full walk, broken=%s | %.3f | %s | %.0f |\n' "$probe_broken" "$best" "$probe_requests" "$probe_rps"
printf '| curl/jq sequential (%s) | full walk | %.3f | | |\n' "$curl_out" "$curl_seconds"
printf '| skopeo inspect, one per tag | %s tags (manifest + config, no layers) | %.3f | | |\n' "$skopeo_count" "$skopeo_seconds"
printf '| hey -c 32 HEAD one blob (200s: %s) | HEAD limit | | 20000 | %.0f |\n' "$hey_ok" "$hey_rps"
printf '\nfiredrill vs curl/jq: %.1fx faster. firedrill request rate vs hey HEAD limit: %.2fx (target within 1.5x, i.e. >= 0.67).\n' \
  "$(echo "$curl_seconds / $best" | bc -l)" "$(echo "$probe_rps / $hey_rps" | bc -l)"

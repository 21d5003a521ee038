#!/usr/bin/env bash
# The baseline: a sequential curl/jq walk, modelled on the seed's CronJob (catalog → tags → manifests → index
# children), extended to configs and layers (HEAD) so it checks the same objects as `firedrill probe registry`.
# Usage: registry-curl-walk.sh URL. Prints "requests=N failures=N".
set -euo pipefail
url="$1"
accept='application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
requests=0
failures=0

check_manifest() { # repository reference
  local body status
  body="$(curl -s -H "Accept: $accept" -w '\n%{http_code}' "$url/v2/$1/manifests/$2")"
  requests=$((requests + 1))
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  if [[ "$status" != 200 ]]; then
    failures=$((failures + 1))
    return
  fi
  for child in $(jq -r '.manifests[]?.digest' <<<"$body"); do
    check_manifest "$1" "$child"
  done
  for blob in $(jq -r '(.config.digest // empty), (.layers[]?.digest)' <<<"$body"); do
    status="$(curl -s -o /dev/null -I -w '%{http_code}' "$url/v2/$1/blobs/$blob")"
    requests=$((requests + 1))
    [[ "$status" == 200 ]] || failures=$((failures + 1))
  done
}

last=""
while :; do
  page="$(curl -s "$url/v2/_catalog?n=100${last:+&last=$last}")"
  requests=$((requests + 1))
  names="$(jq -r '.repositories[]' <<<"$page")"
  [[ -z "$names" ]] && break
  for repository in $names; do
    tags="$(curl -s "$url/v2/$repository/tags/list" | jq -r '.tags[]?')"
    requests=$((requests + 1))
    for tag in $tags; do
      check_manifest "$repository" "$tag"
    done
    last="$repository"
  done
  [[ "$(wc -w <<<"$names")" -lt 100 ]] && break
done
echo "requests=$requests failures=$failures"

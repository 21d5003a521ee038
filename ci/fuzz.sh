#!/usr/bin/env bash
# The fuzz targets of fuzz/ (cargo-fuzz, libFuzzer), or those named as arguments, each for FIREDRILL_FUZZ_SECONDS (default 60), one at a time,
# from the committed corpus (fuzz/corpus/<target>, never written to: new inputs go to a scratch copy). A crash
# fails the run and leaves its input under fuzz/artifacts/<target>/. Installs cargo-fuzz from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FIREDRILL_FUZZ_SECONDS:-60}"
targets=(scenario_file runbook_file schedule_json registry_documents http_response)
# Targets named on the command line run instead of all of them.
if [ "$#" -gt 0 ]; then
    targets=("$@")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz needs nightly's -Z flags. The machine may have only its one stable toolchain: RUSTC_BOOTSTRAP lets that
# stable compiler accept them, which is what nightly would do.
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo "${toolchain[@]}" fuzz build --release --debug-assertions
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    echo "fuzz $target for ${seconds} s"
    # The scratch directory first: libFuzzer writes new inputs to the first corpus directory only.
    status=0
    cargo "${toolchain[@]}" fuzz run --release --debug-assertions "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|DONE|ERROR|panicked|SUMMARY' \
        "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$scratch/$target.log" >&2
        echo "fuzz target $target failed" >&2
        exit 1
    fi
done

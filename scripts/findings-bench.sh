#!/usr/bin/env bash
# Wall time and peak memory of `limits check` (every output format) and
# `limits gen` on synthetic tables, best of RUNS runs each:
#   - 10,000 models with every id broken (11,000 findings);
#   - 200,000 models (9.8 MB), clean and with every 150th id broken.
# Usage: scripts/findings-bench.sh [OTHER_LIMITS_BINARY]
# With a second binary (e.g. one built from an older commit), both are
# timed in the same run, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet -p limits-cli
cargo build --release --quiet -p limits-bench --example synth
synth=target/release/examples/synth
"$synth" 10000 1 >"$dir/broken-10k.toml"
"$synth" 200000 >"$dir/clean-200k.toml"
"$synth" 200000 150 >"$dir/broken-200k.toml"
truncate -s 300M "$dir/huge.toml" # sparse: over the 64 MiB cap

# best "seconds peak-KiB" of $runs runs of the command
best() {
  local best_s="" best_kb=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$dir/time" "$@" >/dev/null 2>&1 || true
    read -r s kb < <(tail -n 1 "$dir/time")
    if [[ -z "$best_s" ]] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; fi
    if [[ -z "$best_kb" ]] || (( kb < best_kb )); then best_kb=$kb; fi
  done
  printf "%8ss %8s MiB" "$best_s" "$((best_kb / 1024))"
}

binaries=(target/release/limits)
[[ $# -ge 1 ]] && binaries+=("$1")
for bin in "${binaries[@]}"; do
  echo "== $bin"
  for file in broken-10k clean-200k broken-200k; do
    for format in human json github; do
      printf "check %-12s %-7s" "$file" "$format"
      best "$bin" check --format "$format" "$dir/$file.toml"
      echo
    done
  done
  printf "check %-12s %-7s" huge-300m human
  best "$bin" check "$dir/huge.toml"
  echo
  printf "gen   %-12s        " clean-200k
  best "$bin" gen --input "$dir/clean-200k.toml" --output "$dir/gen.rs" --table-doc "$dir/gen.md"
  echo
done

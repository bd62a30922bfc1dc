#!/usr/bin/env bash
# Measures what depending on modelstudio-limits costs a consumer, next to
# chrono-tz (a table crate of the same kind) and an empty crate:
#   1. cold `cargo build` time of a hello-world depending on each (hyperfine);
#   2. the bytes the table adds to a release binary that uses from_id and
#      limits, against the same program without it.
# Usage: scripts/consumer-cost.sh [RUNS]   (needs hyperfine; crates.io once, to fetch chrono-tz)
set -euo pipefail
runs=${1:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_crate() { # name, dependency line, main body
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s\n' "$1" "$2" \
    > "$work/$1/Cargo.toml"
  printf 'fn main() {\n    let arg = std::env::args().nth(1).unwrap_or_default();\n%s\n}\n' "$3" \
    > "$work/$1/src/main.rs"
}

make_crate empty "" '    println!("{arg}");'
make_crate uses-limits "modelstudio-limits = { path = \"$repo/crates/modelstudio-limits\" }" \
  '    match modelstudio_limits::Model::from_id(&arg) {
        Some(m) => println!("{arg}: {:?}", m.limits_in(modelstudio_limits::Deployment::MAINLAND_CHINA)),
        None => println!("{arg}"),
    }'
make_crate uses-chrono-tz 'chrono-tz = "0.10"' \
  '    match arg.parse::<chrono_tz::Tz>() {
        Ok(tz) => println!("{arg}: {}", tz.name()),
        Err(_) => println!("{arg}"),
    }'

for c in empty uses-limits uses-chrono-tz; do
  (cd "$work/$c" && cargo fetch --quiet)
done

echo "== cold debug build (cargo build --offline, fresh target dir each run) =="
cmds=()
for c in empty uses-limits uses-chrono-tz; do
  cmds+=(--command-name "$c" "cd $work/$c && cargo build --offline --quiet")
done
hyperfine --runs "$runs" --prepare "rm -rf $work/empty/target $work/uses-limits/target $work/uses-chrono-tz/target" \
  "${cmds[@]}" --export-markdown "$work/build.md" >/dev/null
cat "$work/build.md"

echo
echo "== release binary size (bytes) =="
for c in empty uses-limits; do
  (cd "$work/$c" && cargo build --offline --quiet --release)
  bin="$work/$c/target/release/$c"
  cp "$bin" "$bin.stripped" && strip "$bin.stripped"
  printf '%-12s %9d unstripped %9d stripped\n' "$c" "$(stat -c %s "$bin")" "$(stat -c %s "$bin.stripped")"
done

#!/usr/bin/env bash
# The published crates package, and each compiles from its .crate file
# alone with every feature, as `cargo publish` verifies; `cargo check`
# (not a build) of each, in one target directory, so that a dependency is
# compiled again only where a crate's features differ.
#
# The packed crates are unpacked into a workspace of their own whose
# `[patch.crates-io]` points each at the others' unpacked sources (cargo
# packages a crate's dependencies on its siblings as registry
# dependencies); Cargo.lock is the repository's, so the versions are the
# same. Each crate is checked alone (`-p`), so that it compiles with the
# features it asks for, not with those its siblings turn on.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(limits-format limits-codegen modelstudio-limits limits-cli limits-throttle limits-reqwest)
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo package --quiet --locked --no-verify "${crates[@]/#/-p}"

unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
members=() patches=()
for crate in "${crates[@]}"; do
  version=$(cargo pkgid -q -p "$crate" | sed 's/.*[@#]//')
  tar -xzf "$target/package/$crate-$version.crate" -C "$unpacked"
  members+=("\"$crate-$version\"")
  patches+=("$crate = { path = \"$crate-$version\" }")
done
{
  echo '[workspace]'
  echo 'resolver = "2"'
  echo "members = [$(IFS=,; echo "${members[*]}")]"
  echo '[patch.crates-io]'
  printf '%s\n' "${patches[@]}"
} > "$unpacked/Cargo.toml"
cp Cargo.lock "$unpacked/"
for crate in "${crates[@]}"; do
  echo "check-packages: $crate from its .crate file, every feature"
  CARGO_TARGET_DIR="$target/package-check" \
    cargo check --quiet --manifest-path "$unpacked/Cargo.toml" -p "$crate" --all-features
done

#!/usr/bin/env bash
# The refresh workflow's steps after it fetched the page (run at the
# repository's root): import PAGE onto limits.toml, and when the table
# changes, check it with warnings denied, regenerate the checked-in code,
# and write the pull request's body (`limits diff` with its semver impact)
# to BODY. The last line of output is `unchanged` or `changed`.
# Usage: scripts/refresh.sh PAGE BODY
# LIMITS names the limits command (default: cargo run --quiet -p limits-cli --).
set -euo pipefail
page=$1
body=$2
read -r -a limits <<<"${LIMITS:-cargo run --quiet -p limits-cli --}"
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
cp limits.toml "$before/limits.toml"
"${limits[@]}" import "$page" --onto limits.toml -o limits.toml
if cmp -s "$before/limits.toml" limits.toml; then
  echo "unchanged"
  exit 0
fi
"${limits[@]}" check --deny-warnings limits.toml
"${limits[@]}" gen
{
  echo "The provider's rate-limit page changed; \`limits import --onto limits.toml\` reads:"
  echo
  echo '```'
  "${limits[@]}" diff "$before/limits.toml" limits.toml | sed "s#$before/##"
  echo '```'
} >"$body"
echo "changed"

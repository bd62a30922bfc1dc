#!/usr/bin/env bash
# The refresh workflow's steps after it fetched the page (run at the
# repository's root): import PAGE onto limits.toml, and when the table
# changes, check it with warnings denied, regenerate the checked-in code,
# and write the pull request's body (`limits diff` with its semver impact)
# to BODY, its changes grouped by region and scope. The last line of output
# is `unchanged` or `changed`. A page the importer cannot read fails with
# the reason, and nothing is written.
# Usage: scripts/refresh.sh PAGE BODY
# LIMITS names the limits command (default: cargo run --quiet -p limits-cli --);
# TIERS, when set, is the dynamic-limits page (`limits import --tiers`).
set -euo pipefail
page=$1
body=$2
read -r -a limits <<<"${LIMITS:-cargo run --quiet -p limits-cli --}"
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
cp limits.toml "$before/limits.toml"
tiers=()
if [ -n "${TIERS:-}" ]; then
  tiers=(--tiers "$TIERS")
fi
"${limits[@]}" import "$page" "${tiers[@]}" --onto limits.toml -o limits.toml
if cmp -s "$before/limits.toml" limits.toml; then
  echo "unchanged"
  exit 0
fi
"${limits[@]}" check --deny-warnings limits.toml
"${limits[@]}" gen
# The diff's lines by the `[region/scope]` they name (the table's own lines,
# naming none, first), each group in the diff's order; its summary last.
"${limits[@]}" diff "$before/limits.toml" limits.toml | sed "s#$before/##" >"$before/diff.txt"
{
  echo "The provider's rate-limit page changed; \`limits import --onto limits.toml\` reads:"
  awk '
    /^  / {
      place = "the table"
      if (match($0, /\[[a-z0-9-]+\/[a-z]+\]/)) place = substr($0, RSTART + 1, RLENGTH - 2)
      if (!(place in lines)) order[++n] = place
      lines[place] = lines[place] $0 "\n"
      next
    }
    { tail = tail $0 "\n" }
    END {
      for (i = 1; i <= n; i++) printf "\n### %s\n\n```\n%s```\n", order[i], lines[order[i]]
      printf "\n```\n%s```\n", tail
    }
  ' "$before/diff.txt"
} >"$body"
echo "changed"

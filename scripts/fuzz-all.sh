#!/usr/bin/env bash
# Runs every go test -fuzz target in the tree for a short time (default 8s
# each), starting from its committed seed corpus in testdata/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-8s}"
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  dir=$(dirname "$f")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "fuzz $dir $name ($t)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime 5s "$dir" >/tmp/fuzz-$$.log 2>&1 || {
      cat /tmp/fuzz-$$.log; rm -f /tmp/fuzz-$$.log; exit 1; }
  done
done
rm -f /tmp/fuzz-$$.log

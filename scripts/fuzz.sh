#!/usr/bin/env bash
# Runs every Go fuzz target in the module (each `func FuzzX` in a
# *_test.go file), one after the other, for FUZZTIME each (default 3s: the
# short run scripts/test.sh makes; `make fuzz` runs longer). New inputs
# that fail are written to the package's testdata/fuzz/FuzzX/ by go test;
# commit them as regression seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-3s}"
mapfile -t files < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./.local/' | sort)
for f in "${files[@]}"; do
  pkg="./$(dirname "${f#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "fuzz: $target ($pkg) for $fuzztime"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
  done
done

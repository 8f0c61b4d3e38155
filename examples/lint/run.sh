#!/usr/bin/env bash
# Lint a catalog full of classic mistakes, then its fixed version.
# usage: examples/lint/run.sh [PATH_TO_evt-lint]   (compare with expected.txt)
cd "$(dirname "$0")"
lint=${1:-evt-lint}
echo "\$ evt-lint catalog-bad.yaml"
"$lint" --no-config catalog-bad.yaml
echo "exit status $?"
echo
echo "\$ evt-lint catalog-fixed.yaml"
"$lint" --no-config catalog-fixed.yaml
echo "exit status $?"

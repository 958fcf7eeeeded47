#!/usr/bin/env bash
# Fails when proto/python differs from what the .proto files generate (run `make proto`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/gen_proto.sh" "$tmp" >/dev/null 2>&1
if ! diff -r -q "$tmp/chorus" "$root/proto/python/chorus" -x '__pycache__'; then
  echo "proto/python is stale: run 'make proto' and commit the result" >&2
  exit 1
fi
echo "proto: generated code up to date"

#!/usr/bin/env bash
# Regenerates the Python code of every .proto under proto/chorus into OUT (default proto/python).
# `make proto` writes it in place; `make lint` generates into a temporary folder and diffs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/proto/python}
py=${PYTHON:-$root/.venv/bin/python}
export PATH="$(dirname "$py"):$PATH"
mkdir -p "$out"
find "$out/chorus" -name '*_pb2*.py*' -delete 2>/dev/null || true
cd "$root/proto"
mapfile -t files < <(find chorus -name '*.proto' | sort)
"$py" -m grpc_tools.protoc -I . \
  --python_out="$out" --mypy_out="$out" --grpc_python_out="$out" "${files[@]}"
# Every generated folder is a regular package so wheels and type checkers find it.
find "$out/chorus" -type d -exec sh -c 'touch "$1/__init__.py"' _ {} \;

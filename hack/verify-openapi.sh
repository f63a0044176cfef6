#!/usr/bin/env bash
# Fails when the committed OpenAPI definitions differ from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hack/update-openapi.sh "$tmp" >/dev/null
if ! diff -q "$tmp/zz_generated.openapi.go" internal/apiserver/openapi/zz_generated.openapi.go >/dev/null; then
  echo "internal/apiserver/openapi is out of date: run hack/update-openapi.sh" >&2
  exit 1
fi
echo "openapi definitions up to date"

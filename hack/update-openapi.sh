#!/usr/bin/env bash
# Regenerates internal/apiserver/openapi/zz_generated.openapi.go from the
# k8s.io/api types petset serves. Run after changing served kinds or k8s.io versions.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-internal/apiserver/openapi}
mkdir -p "$out"
go run k8s.io/kube-openapi/cmd/openapi-gen \
  --output-dir "$out" \
  --output-pkg petset/internal/apiserver/openapi \
  --output-file zz_generated.openapi.go \
  --go-header-file hack/boilerplate.go.txt \
  --report-filename /dev/null \
  k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/autoscaling/v1 k8s.io/api/batch/v1 \
  k8s.io/api/scheduling/v1alpha3 \
  k8s.io/api/storage/v1 k8s.io/api/coordination/v1 k8s.io/api/discovery/v1 \
  k8s.io/api/events/v1 k8s.io/api/policy/v1 k8s.io/api/rbac/v1 \
  k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 \
  k8s.io/api/certificates/v1 k8s.io/api/networking/v1 k8s.io/api/admissionregistration/v1 \
  k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 \
  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime \
  k8s.io/apimachinery/pkg/version k8s.io/apimachinery/pkg/api/resource \
  k8s.io/apimachinery/pkg/util/intstr

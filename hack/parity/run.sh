#!/usr/bin/env bash
# Runs the upstream parity check (docs/parity.md): petset's validation,
# defaulting and table printing against k8s.io/kubernetes v1.37.2's.
#   PARITY_SEED=n|random  PARITY_CASES=n (per kind, default 60)
#   PARITY_KIND=Pod  PARITY_CASE=n (replay one case)  PARITY_LIST=1 (list known ones too)
set -euo pipefail
cd "$(dirname "$0")"
exec go test -count=1 -run '^(TestParity|TestSeedsAreValid|TestEveryServedKindIsChecked)$' -v "$@" .

#!/usr/bin/env bash
# Re-package the charts' file:// dependencies into charts/*/charts/ (offline), so that
# `helm install taskflow charts/taskflow` works from a checkout. Run after changing any chart;
# tests/charts fails when a packaged copy differs from its source.
set -euo pipefail
cd "$(dirname "$0")"
HELM=${TASKFLOW_HELM_BIN:-$HOME/.cache/taskflow/bin/helm}
[ -x "$HELM" ] || { echo "helm not found at $HELM: run scripts/stack up helm" >&2; exit 1; }
for chart in auth-gateway tasks suggest notify admin taskflow; do
  "$HELM" dependency build "$chart" >/dev/null
  echo "packaged dependencies of $chart"
done

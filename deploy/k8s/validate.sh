#!/usr/bin/env bash
# Renders every kustomization and checks it offline (no cluster): schemas (schema-validate.mjs: Kubernetes, KEDA,
# Prometheus Operator, Strimzi), the project's rules (validate.py), and the Prometheus alert rules (promtool).
# Needs kubectl with kustomize v5 (on the build machines' image), node/npm, python3-yaml and Debian's prometheus
# package for promtool (both installed here when missing; CI runs as root).
set -euo pipefail
cd "$(dirname "$0")"
command -v kubectl >/dev/null || { echo "validate.sh: kubectl (with kustomize v5) is not installed" >&2; exit 1; }
install() { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" >/dev/null; }
python3 -c 'import yaml' 2>/dev/null || install python3-yaml
command -v promtool >/dev/null || install prometheus
[ -d node_modules ] || npm ci --no-audit --no-fund --silent
# Created by the operator of a production installation (docs/operations.md) or by Strimzi, never rendered here.
external=(--external-secret kafka-credentials --external-secret redis-auth --external-secret redis-tls --external-secret tenant-keys --external-secret emotion-kafka-cluster-ca-cert)
render() { kubectl kustomize "$1" 2>/dev/null; }
render base | node schema-validate.mjs base
render overlays/dev | node schema-validate.mjs overlays/dev
render overlays/dev | python3 validate.py
for overlay in production gpu; do
  render "overlays/$overlay" | node schema-validate.mjs "overlays/$overlay"
  flags=(--production "${external[@]}"); [ "$overlay" = gpu ] && flags+=(--gpu)
  render "overlays/$overlay" | python3 validate.py "${flags[@]}"
done
# The alert rules are a PrometheusRule; promtool checks its groups (PromQL syntax, templates).
rules="$(mktemp --suffix=.yaml)"; trap 'rm -f "$rules"' EXIT
python3 -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], sys.stdout)' ../observability/alert-rules.yaml > "$rules"
promtool check rules "$rules"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' ../observability/grafana-dashboard.json
echo "deploy/k8s: base, dev, production and gpu overlays valid"

#!/usr/bin/env bash
# Renders the kustomize base and the GPU overlay and validates them offline (no cluster). Installs Debian's
# kubernetes-client and python3-yaml when missing (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v kubectl >/dev/null; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 kubernetes-client >/dev/null
fi
python3 -c 'import yaml' 2>/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 python3-yaml >/dev/null
kubectl kustomize base | python3 validate.py
kubectl kustomize overlays/gpu 2>/dev/null | python3 validate.py --gpu
echo "deploy/k8s: base and gpu overlay valid"

#!/usr/bin/env bash
# Builds and tags the images (needs Docker or a compatible builder, and the base images' registries):
#   deploy/docker/build.sh [REGISTRY/]PREFIX VERSION      e.g. deploy/docker/build.sh registry.example.com/speech-emotion 1.2.0
# then set the same names and tag in the overlay's `images:` (kustomize edit set image).
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix="${1:?image prefix, e.g. registry.example.com/speech-emotion}"
version="${2:?version tag (never latest)}"
for target in ingest featurizer classifier aggregator classifier-gpu; do
  docker build -f deploy/docker/Dockerfile --target "$target" -t "$prefix/$target:$version" .
done

#!/usr/bin/env python3
"""Offline checks of rendered manifests (kubectl kustomize output on stdin), without a cluster.

No Kubernetes JSON schemas can be fetched on the build machine, so this checks the fields the pipeline relies on
against the Kubernetes API's shape (types and required fields of the kinds used) plus the project's own rules:
every container has liveness/readiness probes on a declared port, CPU/memory requests and limits, configuration
from the pipeline ConfigMap; every Service selects a Deployment's pod labels and targets a declared port; every
referenced ConfigMap exists. `--gpu` also requires the classifier's GPU limit and node selector.
Exit status 1 with one line per problem.
"""
import re
import sys

import yaml

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
problems = []


def need(cond, where, what):
    if not cond:
        problems.append(f"{where}: {what}")
    return cond


def typed(obj, key, kind, where, required=True):
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        need(not required, where, f"'{key}' is required")
        return None
    need(isinstance(value, kind), where, f"'{key}' must be {kind.__name__ if isinstance(kind, type) else kind}")
    return value if isinstance(value, kind) else None


def check_probe(probe, ports, where):
    if not need(isinstance(probe, dict), where, "probe missing"):
        return
    http = typed(probe, "httpGet", dict, where)
    if http:
        typed(http, "path", str, where)
        port = http.get("port")
        need(port in ports or port in ports.values(), where, f"probe port {port!r} is not a declared container port")


def check_resources(resources, where, gpu=False):
    if not resources:
        need(False, where, "resources missing")
        return
    for part in ("requests", "limits"):
        values = typed(resources, part, dict, where) or {}
        for key in ("cpu", "memory"):
            value = values.get(key)
            need(value is not None and QUANTITY.match(str(value)), where, f"resources.{part}.{key} missing or not a quantity: {value!r}")
    if gpu:
        need(str((resources.get("limits") or {}).get("nvidia.com/gpu")) == "1", where, "GPU variant needs limits nvidia.com/gpu: 1")


def check_deployment(doc, config_maps, gpu):
    name = doc["metadata"]["name"]
    where = f"Deployment/{name}"
    spec = typed(doc, "spec", dict, where) or {}
    selector = (typed(spec, "selector", dict, where) or {}).get("matchLabels") or {}
    need(selector, where, "spec.selector.matchLabels is empty")
    template = typed(spec, "template", dict, where) or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    need(all(labels.get(k) == v for k, v in selector.items()), where, "selector does not match the pod template labels")
    pod = typed(template, "spec", dict, where) or {}
    containers = typed(pod, "containers", list, where) or []
    need(containers, where, "no containers")
    for c in containers:
        cw = f"{where}/{c.get('name')}"
        need(isinstance(c.get("name"), str) and NAME.match(c["name"]), cw, "container name invalid")
        need(isinstance(c.get("image"), str) and c["image"], cw, "image missing")
        ports = {p.get("name"): p.get("containerPort") for p in (c.get("ports") or [])}
        need(all(isinstance(v, int) and 0 < v < 65536 for v in ports.values()), cw, "containerPort must be an integer port")
        check_probe(c.get("livenessProbe"), ports, f"{cw} livenessProbe")
        check_probe(c.get("readinessProbe"), ports, f"{cw} readinessProbe")
        check_resources(c.get("resources"), cw, gpu and name == "classifier")
        for source in c.get("envFrom") or []:
            # A Secret (the tenants' keys) is created by the operator, never committed: only ConfigMaps must be here.
            need(("configMapRef" in source) != ("secretRef" in source), cw, "envFrom entry needs exactly one of configMapRef/secretRef")
            if "secretRef" in source:
                need(isinstance(source["secretRef"].get("name"), str), cw, "envFrom secretRef without a name")
                continue
            ref = (source.get("configMapRef") or {}).get("name")
            need(ref in config_maps, cw, f"envFrom ConfigMap {ref!r} does not exist")
        for env in c.get("env") or []:
            need(isinstance(env.get("name"), str), cw, "env entry without a name")
            need(("value" in env) != ("valueFrom" in env), cw, f"env {env.get('name')}: exactly one of value/valueFrom")
            need("value" not in env or isinstance(env["value"], str), cw, f"env {env.get('name')}: value must be a string")
    for volume in pod.get("volumes") or []:
        ref = (volume.get("configMap") or {}).get("name")
        need(ref is None or ref in config_maps, where, f"volume ConfigMap {ref!r} does not exist")
    if gpu and name == "classifier":
        need((pod.get("nodeSelector") or {}), where, "GPU variant needs a nodeSelector")
    return labels, {p.get("name") for c in containers for p in (c.get("ports") or [])}


def main():
    gpu = "--gpu" in sys.argv
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    for d in docs:
        where = f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
        need(isinstance(d.get("apiVersion"), str), where, "apiVersion missing")
        need(NAME.match(str((d.get("metadata") or {}).get("name", ""))), where, "metadata.name missing or invalid")
    config_maps = {d["metadata"]["name"] for d in docs if d.get("kind") == "ConfigMap"}
    pods = {}
    for d in docs:
        if d.get("kind") == "Deployment":
            pods[d["metadata"]["name"]] = check_deployment(d, config_maps, gpu)
    need(set(pods) == {"ingest", "featurizer", "classifier", "aggregator"}, "manifests", f"expected the four services, got {sorted(pods)}")
    for d in docs:
        if d.get("kind") != "Service":
            continue
        where = f"Service/{d['metadata']['name']}"
        spec = d.get("spec") or {}
        selector = spec.get("selector") or {}
        matches = [n for n, (labels, _) in pods.items() if selector and all(labels.get(k) == v for k, v in selector.items())]
        need(len(matches) == 1, where, f"selector {selector} matches {len(matches)} deployments")
        for port in spec.get("ports") or []:
            need(isinstance(port.get("port"), int), where, "port must be an integer")
            target = port.get("targetPort")
            need(not matches or isinstance(target, int) or target in pods[matches[0]][1], where, f"targetPort {target!r} is not a container port name")
    for p in problems:
        print(p)
    print(f"validate.py: {len(docs)} objects, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

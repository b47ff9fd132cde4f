#!/usr/bin/env python3
"""The project's rules for rendered manifests (kubectl kustomize output on stdin), beyond what the schemas check
(schema-validate.mjs): every container has requests and limits and liveness/readiness probes on a declared port;
the service pods run non-root with a read-only root filesystem, no privilege escalation and no capabilities;
images carry a pinned tag (never latest or none); every referenced ConfigMap and Secret is rendered or named with
--external-secret (created by the operator of the installation); no ConfigMap or Secret comes near the API server's
1 MiB object limit; every Service selects exactly one workload and targets a declared port.
--production: a PodDisruptionBudget and a KEDA ScaledObject per service, a default-deny NetworkPolicy with ingest the
only pod open to every source, audio topics kept at most 24 h. --gpu: the classifier's GPU limit and node selector.
Exit status 1 with one line per problem.
"""
import argparse
import json
import sys

import yaml

SERVICES = {"ingest", "featurizer", "classifier", "aggregator"}
PART_OF = "speech-emotion"
# The API server rejects objects over 1 MiB (etcd's request limit); stay well below it.
MAX_CONFIG_BYTES = 512 * 1024
problems = []


def need(cond, where, what):
    if not cond:
        problems.append(f"{where}: {what}")
    return cond


def check_probe(probe, ports, where):
    if not need(isinstance(probe, dict), where, "probe missing"):
        return
    action = probe.get("httpGet") or probe.get("tcpSocket")
    if need(action, where, "probe needs httpGet or tcpSocket"):
        port = action.get("port")
        need(port in ports or port in ports.values(), where, f"probe port {port!r} is not a declared container port")


def check_resources(resources, where):
    for part in ("requests", "limits"):
        values = (resources or {}).get(part) or {}
        for key in ("cpu", "memory"):
            need(key in values, where, f"resources.{part}.{key} missing")


def check_hardening(pod, container, where):
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    need(pod_sc.get("runAsNonRoot") is True, where, "pod securityContext.runAsNonRoot must be true")
    need((pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", where, "pod seccompProfile must be RuntimeDefault")
    need(sc.get("readOnlyRootFilesystem") is True, where, "readOnlyRootFilesystem must be true")
    need(sc.get("allowPrivilegeEscalation") is False, where, "allowPrivilegeEscalation must be false")
    need("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), where, "capabilities must drop ALL")
    need(pod.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false")


def secret_refs(pod, container):
    for source in container.get("envFrom") or []:
        if "secretRef" in source:
            yield source["secretRef"].get("name")
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            yield ref.get("name")
    for volume in pod.get("volumes") or []:
        if "secret" in volume:
            yield volume["secret"].get("secretName")


def check_workload(doc, config_maps, secrets, gpu):
    name = doc["metadata"]["name"]
    where = f"{doc['kind']}/{name}"
    spec = doc.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    need(selector and all(labels.get(k) == v for k, v in selector.items()), where, "selector does not match the pod template labels")
    pod = template.get("spec") or {}
    service = labels.get("app.kubernetes.io/part-of") == PART_OF
    for c in pod.get("containers") or []:
        cw = f"{where}/{c.get('name')}"
        image = c.get("image") or ""
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        need(tag and tag != "latest", cw, f"image {image!r} needs a pinned tag (not latest)")
        ports = {p.get("name"): p.get("containerPort") for p in (c.get("ports") or [])}
        check_probe(c.get("livenessProbe"), ports, f"{cw} livenessProbe")
        check_probe(c.get("readinessProbe"), ports, f"{cw} readinessProbe")
        check_resources(c.get("resources"), cw)
        if service:
            check_hardening(pod, c, cw)
        for source in c.get("envFrom") or []:
            # A Secret (the tenants' keys) is created by the operator, never committed: only ConfigMaps must be here.
            need(("configMapRef" in source) != ("secretRef" in source), cw, "envFrom entry needs exactly one of configMapRef/secretRef")
            if "secretRef" in source:
                need(isinstance(source["secretRef"].get("name"), str), cw, "envFrom secretRef without a name")
                continue
            ref = (source.get("configMapRef") or {}).get("name")
            need(ref is None or ref in config_maps, cw, f"envFrom ConfigMap {ref!r} does not exist")
        for ref in secret_refs(pod, c):
            need(ref in secrets, cw, f"Secret {ref!r} is neither rendered nor declared external")
        if gpu and name == "classifier":
            need(str(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")) == "1", cw, "GPU variant needs limits nvidia.com/gpu: 1")
    for volume in pod.get("volumes") or []:
        ref = (volume.get("configMap") or {}).get("name")
        need(ref is None or ref in config_maps, where, f"volume ConfigMap {ref!r} does not exist")
    if gpu and name == "classifier":
        need(pod.get("nodeSelector"), where, "GPU variant needs a nodeSelector")
    return labels, {p.get("name") for c in pod.get("containers") or [] for p in (c.get("ports") or [])}


def check_production(docs):
    of = lambda kind: [d for d in docs if d.get("kind") == kind]
    pdbs = {tuple(sorted(((d["spec"].get("selector") or {}).get("matchLabels") or {}).items())) for d in of("PodDisruptionBudget")}
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in of("ScaledObject")}
    for service in SERVICES:
        need((("app.kubernetes.io/name", service),) in pdbs, f"Deployment/{service}", "no PodDisruptionBudget")
        need(service in scaled, f"Deployment/{service}", "no KEDA ScaledObject")
    policies = of("NetworkPolicy")
    need(any(p["spec"].get("podSelector") == {} and not p["spec"].get("ingress") and "Ingress" in p["spec"].get("policyTypes", [])
             for p in policies), "NetworkPolicy", "no default-deny ingress policy")
    for p in policies:
        for rule in p["spec"].get("ingress") or []:
            if not rule.get("from"):
                target = (p["spec"].get("podSelector") or {}).get("matchLabels") or {}
                need(target == {"app.kubernetes.io/name": "ingest"}, f"NetworkPolicy/{p['metadata']['name']}", "only ingest may accept traffic from every source")
    for topic in of("KafkaTopic"):
        if topic["metadata"]["name"].startswith(("audio-chunks", "feature-frames")):
            retention = int((topic["spec"].get("config") or {}).get("retention.ms", 7 * 86400000))
            need(retention <= 86400000, f"KafkaTopic/{topic['metadata']['name']}", f"audio-derived data kept {retention} ms (> 24 h)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--external-secret", action="append", default=[])
    args = parser.parse_args()
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    config_maps = {d["metadata"]["name"] for d in docs if d.get("kind") == "ConfigMap"}
    secrets = {d["metadata"]["name"] for d in docs if d.get("kind") == "Secret"} | set(args.external_secret)
    for d in docs:
        if d.get("kind") in ("ConfigMap", "Secret"):
            size = sum(len(json.dumps(d.get(k) or {})) for k in ("data", "binaryData", "stringData"))
            need(size < MAX_CONFIG_BYTES, f"{d['kind']}/{d['metadata']['name']}", f"{size} bytes of data: too close to the 1 MiB object limit")
    workloads = {d["metadata"]["name"]: check_workload(d, config_maps, secrets, args.gpu) for d in docs if d.get("kind") in ("Deployment", "StatefulSet")}
    need(SERVICES <= set(workloads), "manifests", f"expected the four services, got {sorted(workloads)}")
    for d in docs:
        if d.get("kind") != "Service":
            continue
        where = f"Service/{d['metadata']['name']}"
        selector = d["spec"].get("selector") or {}
        matches = [n for n, (labels, _) in workloads.items() if selector and all(labels.get(k) == v for k, v in selector.items())]
        need(len(matches) == 1, where, f"selector {selector} matches {len(matches)} workloads")
        for port in d["spec"].get("ports") or []:
            target = port.get("targetPort")
            need(not matches or isinstance(target, int) or target in workloads[matches[0]][1], where, f"targetPort {target!r} is not a container port name")
    if args.production:
        check_production(docs)
    for p in problems:
        print(p)
    print(f"validate.py: {len(docs)} objects, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

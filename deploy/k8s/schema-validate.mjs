// Validates rendered manifests (a YAML stream on stdin) against JSON schemas, offline:
// - Kubernetes kinds: the schemas generated from the Kubernetes OpenAPI spec in the npm package kubernetes-models;
// - KEDA and Prometheus Operator kinds: @kubernetes-models/keda and @kubernetes-models/prometheus-operator
//   (generated from their CRDs);
// - Strimzi kinds: schemas/strimzi-v1beta2.json (a subset written for the fields used; unknown fields rejected).
// A kind without a schema is an error: every rendered resource is checked. Exit 1 with one line per problem.
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { parseAllDocuments } from "yaml";

const models = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/StatefulSet": "kubernetes-models/apps/v1/StatefulSet",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "keda.sh/v1alpha1/ScaledObject": "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject",
  "keda.sh/v1alpha1/TriggerAuthentication": "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
};
const strimzi = JSON.parse(readFileSync(new URL("./schemas/strimzi-v1beta2.json", import.meta.url), "utf8")).schemas;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

const label = process.argv[2] ?? "manifests";
const problems = [];
const documents = parseAllDocuments(readFileSync(0, "utf8"));
let count = 0;
for (const document of documents) {
  if (document.errors.length > 0) {
    problems.push(`YAML: ${document.errors[0].message}`);
    continue;
  }
  const resource = document.toJS();
  if (resource == null) continue;
  count++;
  const type = `${resource.apiVersion}/${resource.kind}`;
  const where = `${label}: ${type} ${resource.metadata?.name ?? "(no name)"}`;
  if (strimzi[type]) {
    const validate = ajv.compile(strimzi[type]);
    if (!validate(resource)) for (const e of validate.errors) problems.push(`${where}: ${e.instancePath || "/"} ${e.message}`);
  } else if (models[type]) {
    const module = await import(models[type]);
    const Model = module[resource.kind];
    try {
      new Model(resource).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
    }
  } else {
    problems.push(`${where}: no schema for this kind (add one to schema-validate.mjs)`);
  }
}
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exit(1);
console.log(`${label}: ${count} resources match their schemas`);

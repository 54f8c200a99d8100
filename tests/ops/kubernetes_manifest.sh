#!/usr/bin/env bash
# Checks docker/kubernetes/meshvault.yaml without a cluster: it parses, and the StatefulSet
# is wired the way docs/operations.md says (headless Service, per-pod volumes, probes on
# /v1/sys/health, certificates from a Secret, a join list naming every replica, the image's
# user). Exit 77 (CTest skip) without python3 and PyYAML (docker-compose depends on both).
set -euo pipefail
file=${1:?usage: kubernetes_manifest.sh meshvault.yaml}
if ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
  echo "SKIP: python3 with PyYAML is not installed (Debian: python3-yaml, a docker-compose dependency)"
  exit 77
fi
python3 - "$file" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["PodDisruptionBudget", "Service", "Service", "StatefulSet"], kinds
svc = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
sts = next(d for d in docs if d["kind"] == "StatefulSet")
spec = sts["spec"]
head = svc[spec["serviceName"]]["spec"]
assert head["clusterIP"] == "None" and head["publishNotReadyAddresses"] is True
pod = spec["template"]["spec"]
c = pod["containers"][0]
env = {e["name"]: e for e in c["env"]}
assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
name, replicas = sts["metadata"]["name"], spec["replicas"]
want = ",".join(f"{name}-{i}.{spec['serviceName']}:7400" for i in range(replicas))
assert env["MESHVAULT_JOIN"]["value"] == want, (env["MESHVAULT_JOIN"]["value"], want)
assert env["MESHVAULT_ADVERTISE"]["value"] == f"$(NODE_NAME).{spec['serviceName']}:7400"
http_port = env["MESHVAULT_HTTP"]["value"].rsplit(":", 1)[1]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert str(ports["http"]) == http_port and ports["mesh"] == 7400
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    g = c[probe]["httpGet"]
    assert g["path"] == "/v1/sys/health" and g["port"] == "http", probe
mounts = {m["name"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
assert mounts["certs"]["readOnly"] is True and "secret" in vols["certs"]
assert mounts["certs"]["mountPath"] == env["MESHVAULT_CERTS_DIR"]["value"]
assert mounts["data"]["mountPath"] == env["MESHVAULT_DATA_DIR"]["value"]
assert vols["key"]["emptyDir"]["medium"] == "Memory"
assert mounts["key"]["mountPath"] == env["MESHVAULT_KEY_DIR"]["value"]
assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["data"]
sc = pod["securityContext"]
assert sc["runAsNonRoot"] and sc["runAsUser"] == 10001 and sc["fsGroup"] == 10001
print(f"kubernetes manifest ok: {replicas} replicas, join {want}")
PY

"""deploy/k8s agrees with Kubernetes and with the code (issue 20 part 8).

What is checked, honestly:
- every built-in resource against the Kubernetes OpenAPI schemas that ``kubernetes-validate`` ships (strict:
  unknown fields refused), for the oldest and newest versions we claim;
- Strimzi's resources against the CRD schemas of Strimzi 0.47.0 (vendored in ``k8s_schemas/``, descriptions
  stripped; Apache-2.0), with unknown fields refused where the CRD does not preserve them;
- ``kubectl kustomize`` builds the directory (when kubectl is installed);
- the manifests against the code: every process docker-compose runs has a Deployment with the same command,
  probes hit routes and ports the processes serve, resources are requested and limited, autoscalers target
  real Deployments on metrics ``infra.metrics`` declares and the adapter exposes, topics and settings exist.
Not checked: anything that needs a cluster (admission, the operator reconciling, the adapter serving metrics).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY

import infra.metrics as metrics
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
SCHEMAS = Path(__file__).parent / "k8s_schemas"
VERSIONS = ("1.29.0", "1.33.0")


def manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        out += [(name, d) for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return out


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in manifests() if d["kind"] == kind}


def config() -> dict[str, str]:
    return of_kind("ConfigMap")["livecommerce-config"]["data"]  # type: ignore[no-any-return]


def test_every_file_is_listed_and_builtin_resources_match_the_kubernetes_schemas() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    checked = 0
    for _, doc in manifests():
        if doc["apiVersion"].startswith("kafka.strimzi.io/"):
            continue
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any schema error
        checked += 1
    assert checked >= 20


def _unknown_keys(doc: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Keys the schema does not declare, where it declares its properties and preserves nothing else."""
    if isinstance(doc, list):
        return [p for i, x in enumerate(doc) for p in _unknown_keys(x, schema.get("items", {}), f"{path}[{i}]")]
    if not isinstance(doc, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    props = schema.get("properties")
    if props is None:
        return []
    out = [f"{path}.{k}" for k in doc if k not in props and k not in ("apiVersion", "kind", "metadata")]
    return out + [p for k, v in doc.items() if k in props for p in _unknown_keys(v, props[k], f"{path}.{k}")]


def test_strimzi_resources_match_the_operator_crds() -> None:
    seen = set()
    for _, doc in manifests():
        if not doc["apiVersion"].startswith("kafka.strimzi.io/"):
            continue
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"  # the API Strimzi 0.47 serves
        schema = json.loads((SCHEMAS / f"strimzi-0.47.0-{doc['kind']}.json").read_text())
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
        assert errors == [] and _unknown_keys(doc, schema) == [], (doc["metadata"]["name"], errors)
        seen.add(doc["kind"])
    assert seen == {"Kafka", "KafkaNodePool", "KafkaTopic"}
    # the schema check can fail: a misspelt field is caught
    bad = {**of_kind("Kafka")["livecommerce"], "spec": {"kafka": {"listners": []}}}
    schema = json.loads((SCHEMAS / "strimzi-0.47.0-Kafka.json").read_text())
    assert _unknown_keys(bad, schema) == [".spec.kafka.listners"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_the_directory() -> None:
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    built = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert len(built) == len(manifests())
    assert {d["metadata"].get("namespace") for d in built if d["kind"] not in ("Namespace",)} == {"livecommerce"}


def containers() -> dict[str, dict[str, Any]]:
    return {name: d["spec"]["template"]["spec"]["containers"][0] for name, d in of_kind("Deployment").items()}


def test_every_process_compose_runs_is_a_deployment_with_the_same_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    ours = {name: s["command"] for name, s in compose.items() if s.get("image") == "livecommerce:latest"}
    assert {"api", "relay", "projections", "process", "notify", "ingest", "migrate"} <= set(ours)
    assert ours.pop("migrate") == ["livecommerce", "migrate"]  # a one-shot step here, a Job there (below)
    for name in ours:  # every process waits for it and only verifies the schema
        assert compose[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert compose[name]["environment"]["LIVECOMMERCE_MIGRATIONS"] == "verify", name
    assert config()["LIVECOMMERCE_MIGRATIONS"] == "verify"
    c = containers()
    for name, command in ours.items():
        assert name in c, f"{name} runs in docker-compose but has no Deployment"
        assert c[name]["command"] == command, name
    assert c["gateway"]["command"] == ["livecommerce", "api"]  # the Socket.IO pool: the same process
    assert of_kind("Job")["migrate"]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "livecommerce",
        "migrate",
    ]


def _port(container: dict[str, Any], ref: str | int) -> int:
    if isinstance(ref, int):
        return ref
    return next(p["containerPort"] for p in container["ports"] if p["name"] == ref)


def api_routes() -> set[str]:
    from interfaces.http.app import create_app

    app = create_app(Settings(), name="k8s_manifest_check")
    return {"/" + r.path.lstrip("/") for r in app.router.routes}


def test_probes_hit_paths_and_ports_the_processes_serve() -> None:
    env, settings = config(), Settings()
    base, http_port = int(env["LIVECOMMERCE_METRICS_PORT"]), int(env["LIVECOMMERCE_HTTP_PORT"])
    kinds = {"relay": "relay", "projections": "project", "process": "process", "notify": "notify", "ingest": "ingest"}
    routes = api_routes()
    assert {"/health", "/metrics"} <= routes
    for name, c in containers().items():
        for probe in (c["readinessProbe"], c["livenessProbe"]):
            if "httpGet" in probe:
                port = _port(c, probe["httpGet"]["port"])
                if name in ("api", "gateway"):
                    assert port == http_port and probe["httpGet"]["path"] in routes, name
                else:  # prometheus-client's server: /metrics on the process's own port
                    assert port == base + metrics.PORT_OFFSETS[kinds[name]] and probe["httpGet"]["path"] == "/metrics"
            else:
                assert name == "ingest" and _port(c, probe["tcpSocket"]["port"]) == 1935
        annotations = of_kind("Deployment")[name]["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) in {p["containerPort"] for p in c["ports"]}, name
    assert urlsplit(settings.rtmp_base_url).port == 1935 and "1935" in env["LIVECOMMERCE_RTMP_BASE_URL"]


def _quantity(q: str) -> float:
    units = {"m": 1e-3, "Mi": 2**20, "Gi": 2**30}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def test_every_container_requests_and_limits_cpu_and_memory() -> None:
    for name, c in containers().items():
        r = c["resources"]
        for res in ("cpu", "memory"):
            assert _quantity(r["limits"][res]) >= _quantity(r["requests"][res]) > 0, (name, res)


def test_autoscalers_target_deployments_on_declared_metrics_the_adapter_serves() -> None:
    deployments, hpas = of_kind("Deployment"), of_kind("HorizontalPodAutoscaler")
    declared = {n for n in REGISTRY._names_to_collectors if n.startswith("livecommerce_")}
    rules = yaml.safe_load(of_kind("ConfigMap")["livecommerce-adapter-rules"]["data"]["config.yaml"])["rules"]
    served = {r["name"]["as"] for r in rules}
    assert {r["seriesQuery"].split("{")[0] for r in rules} <= declared
    own = {}
    for name, h in hpas.items():
        target = h["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
        for m in h["spec"]["metrics"]:
            if m["type"] == "Pods":
                assert m["pods"]["metric"]["name"] in declared & served, (name, m)
                own[target["name"]] = m["pods"]["metric"]["name"]
    assert own == {"gateway": "livecommerce_socketio_connections", "ingest": "livecommerce_ingest_workers"}


def test_external_services_topics_and_settings_exist() -> None:
    env, fields = config(), set(Settings.model_fields)
    for key in env:
        name = key.removeprefix("LIVECOMMERCE_").lower()
        assert name in fields or name.removesuffix("_file") in fields, key
    services = of_kind("Service")
    for name, url_key in (
        ("postgres", "LIVECOMMERCE_POSTGRES_URL"),
        ("redis", "LIVECOMMERCE_REDIS_URL"),
        ("mongo", "LIVECOMMERCE_MONGO_URL"),
    ):
        assert services[name]["spec"]["type"] == "ExternalName"
        url = urlsplit(env[url_key])
        assert url.hostname == name and url.port == services[name]["spec"]["ports"][0]["port"]
    kafka = of_kind("Kafka")["livecommerce"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert env["LIVECOMMERCE_KAFKA_BOOTSTRAP"] == f"livecommerce-kafka-bootstrap:{listener['port']}"
    s = Settings(topic_prefix="livecommerce")
    topics = of_kind("KafkaTopic")
    for t in ("domain", "interactions", "media", "dead-letters", "notifications"):
        assert s.topic(t) in topics, t
        assert topics[s.topic(t)]["spec"]["partitions"] == int(env["LIVECOMMERCE_TOPIC_PARTITIONS"])
    for _, d in manifests():  # the secret files the settings name are where the Secret is mounted
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/run/secrets/livecommerce" in mounts, d["metadata"]["name"]
    assert env["LIVECOMMERCE_JWT_SECRET_FILE"].startswith("/run/secrets/livecommerce/")

"""The operator's files agree with the code: every metric an alert rule or the Grafana dashboard names is one
``infra.metrics`` declares, Prometheus scrapes every process docker-compose runs on the right port, and the
compose file parses with its Prometheus and Grafana services mounting these files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import infra.metrics as metrics

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\b(livecommerce_[a-z_]+)")


def declared() -> set[str]:
    """Every sample name of the metrics ``infra.metrics`` registered (``_total``, ``_bucket``… included)."""
    assert metrics.HTTP_REQUESTS is not None  # imported: registered
    return {n for n in REGISTRY._names_to_collectors if n.startswith("livecommerce_")}


def test_alert_rules_and_dashboard_name_only_declared_metrics() -> None:
    known = declared()
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(exprs) >= 8 and all(r.get("for") for g in rules["groups"] for r in g["rules"])
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/livecommerce.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in NAME.findall(e)}
    assert used and used <= known, sorted(used - known)
    # the dashboard shows every family the issue names
    for family in (
        "relay_lag",
        "consumer_lag",
        "dead_letters",
        "socketio_connections",
        "fanout",
        "ingest_bitrate",
        "ingest_fps",
        "payments_total",
        "stock_available",
        "command_batch_size",
        "store_appended",
    ):
        assert any(family in n for n in used), family


def test_prometheus_scrapes_every_process_compose_runs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {c["job_name"]: c["static_configs"][0]["targets"][0] for c in scrape["scrape_configs"]}
    base = int(compose["x-livecommerce-env"]["LIVECOMMERCE_METRICS_PORT"])
    kinds = {"relay": "relay", "projections": "project", "process": "process", "notify": "notify", "ingest": "ingest"}
    for service, kind in kinds.items():
        assert service in services, service
        assert targets[service] == f"{service}:{base + metrics.PORT_OFFSETS[kind]}"
    assert targets["api"] == "api:8000"
    mounts = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    for path in (
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/provisioning",
        "deploy/grafana/dashboards",
    ):
        assert path in mounts and (ROOT / path).exists(), path

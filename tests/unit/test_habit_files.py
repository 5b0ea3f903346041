"""The repository's habits (issue 20 part 6): the lock file pins what pyproject asks for and ./run can install
from it, pre-commit runs ruff, ruff format and mypy, the image's build context leaves out what it does not
need, docker-compose runs every process, and pyarrow/matplotlib are extras that the service never imports."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from infra.supervisor import CHILDREN

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", re.M)


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return norm(re.split(r"[\[<>=!~;\s]", spec, maxsplit=1)[0])


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def test_the_lock_pins_every_requirement_and_run_installs_from_it() -> None:
    text = (ROOT / "requirements.lock").read_text()
    pins = {norm(n): v for n, v in PIN.findall(text)}
    p = project()
    wanted = p["dependencies"] + p["optional-dependencies"]["dev"] + p["optional-dependencies"]["test"]
    missing = {requirement_name(r) for r in wanted} - set(pins)
    assert missing == set(), missing
    assert "file://" not in text and "/opt/" not in text and "--index-url" not in text  # no machine's paths
    run = (ROOT / "run").read_text()
    assert 'LIVECOMMERCE_LOCKED:-0}" = 1' in run and "-c requirements.lock" in run and "lock)" in run
    assert "-c requirements.lock" in (ROOT / "Dockerfile").read_text()


def test_pre_commit_runs_ruff_ruff_format_and_mypy_at_the_locked_versions() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for r in config["repos"] for h in r["hooks"]}
    assert {"ruff", "ruff-format", "mypy"} <= set(hooks)
    assert hooks["ruff"]["entry"].startswith("ruff check") and hooks["ruff-format"]["entry"].startswith("ruff format")
    assert hooks["mypy"]["args"] == ["domain", "application"] and "--strict" in hooks["mypy"]["entry"]
    pins = {norm(n): v for n, v in PIN.findall((ROOT / "requirements.lock").read_text())}
    for hook in ("ruff", "ruff-format"):
        assert f"ruff=={pins['ruff']}" in hooks[hook]["additional_dependencies"]


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's rules, as far as this file uses them: the last matching pattern wins, ``!`` re-includes."""
    out = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), pat) for i in range(len(parts)))
        hit = hit or (pat.startswith("**/") and any(fnmatch.fnmatch(x, pat[3:]) for x in parts))
        if hit:
            out = not neg
    return out


def test_the_image_context_keeps_what_pip_install_needs_and_drops_the_rest() -> None:
    patterns = [
        ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    needed = [
        "pyproject.toml",
        "README.md",
        "requirements.lock",
        "infra/migrations/001_infra.sql",
        "interfaces/web/static",
        "domain/live_stream.py",
        "media/worker.py",
        "projections/registry.py",
        "application/notifications.py",
    ]
    assert [p for p in needed if _ignored(patterns, p)] == []
    for p in (
        ".venv/bin/python",
        ".git/HEAD",
        ".livecommerce/stack.env",
        "tests/conftest.py",
        "infra/__pycache__/settings.cpython-311.pyc",
        "secrets/jwt_secret",
        "bench/results/x.json",
    ):
        assert _ignored(patterns, p), p


def test_compose_runs_every_process_livecommerce_run_supervises() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {tuple(s["command"][:2]) for s in services.values() if s.get("image") == "livecommerce:latest"}
    for name, args in CHILDREN.items():
        if args[:2] == ["-m", "interfaces.cli"]:  # the payment sandbox stands in for providers: laptops only
            assert ("livecommerce", args[2]) in commands, name


def test_pyarrow_and_matplotlib_are_extras_the_service_never_imports() -> None:
    p = project()
    runtime = {requirement_name(r) for r in p["dependencies"]}
    assert not {"pyarrow", "matplotlib"} & runtime
    extras = p["optional-dependencies"]
    assert {requirement_name(r) for r in extras["replay"]} == {"pyarrow"}
    assert {requirement_name(r) for r in extras["audit"]} == {"matplotlib"}
    # every process's modules import with both missing, and `livecommerce replay` says which extra to install
    script = """
import sys
sys.modules["pyarrow"] = None
sys.modules["matplotlib"] = None
import interfaces.http.app, infra.relay, infra.projection_runner, infra.process_managers, infra.notifications
import media.ingest_door, media.worker, interfaces.host_cli, infra.audit
from interfaces.cli import main
sys.exit(main(["replay", "--out", "x"]))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "pip install 'livecommerce[replay]'" in out.stderr and "pyarrow" in out.stderr

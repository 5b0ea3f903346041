"""Secrets (issue 19 part 3): the API as docker-compose configures it, and RS256 tokens from a real JWKS endpoint.

The API runs as a real process. "Configured like docker-compose" means: the ``environment`` that
docker-compose.yml gives the ``api`` service (read from the file), its ``/run/secrets/*`` files placed in a
temporary directory, the servers' addresses pointed at this session's servers, and a working directory with
no ``.livecommerce/stack.env`` (a container has none).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.settings import DEV_JWT_SECRET, Settings
from infra.tokens import issue_token
from tests.conftest import Environments
from tests.support import ROOT, Proc, free_port, wait_until

P = "/api/v1/live-commerce"
ADMIN_ONLY = f"{P}/hosts/applications"
APP_SERVICES = ("api", "relay", "projections", "process", "ingest")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_passes_secrets_as_files_and_never_allows_the_development_secret() -> None:
    doc = compose()
    assert doc["secrets"] == {
        "postgres_password": {"environment": "POSTGRES_PASSWORD"},
        "jwt_secret": {"environment": "JWT_SECRET"},
    }
    for name, service in doc["services"].items():
        env = service.get("environment") or {}
        assert "LIVECOMMERCE_ALLOW_DEV_JWT_SECRET" not in env, name
        assert not any(k in env for k in ("LIVECOMMERCE_JWT_SECRET", "POSTGRES_PASSWORD")), name
        assert ":" not in (env.get("LIVECOMMERCE_POSTGRES_URL", "").split("@")[0].split("//")[-1]), name
    for name in APP_SERVICES:
        service = doc["services"][name]
        assert service["environment"]["LIVECOMMERCE_JWT_SECRET_FILE"] == "/run/secrets/jwt_secret", name
        assert set(service["secrets"]) == {"postgres_password", "jwt_secret"}, name
    assert doc["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


class ComposedApi:
    """``livecommerce api`` with the compose file's environment for the api service."""

    def __init__(self, env: Settings, tmp: Path, log_dir: Path, *, jwt_secret: str) -> None:
        self.port = free_port()
        run = tmp / "run-secrets"
        run.mkdir(exist_ok=True)
        (run / "jwt_secret").write_text(jwt_secret + "\n")
        (run / "postgres_password").write_text(secrets.token_hex(16) + "\n")  # the dev server trusts: unused
        here = {  # only addresses change: where this session's servers are
            "LIVECOMMERCE_POSTGRES_URL": env.postgres_url,
            "LIVECOMMERCE_REDIS_URL": env.redis_url,
            "LIVECOMMERCE_KAFKA_BOOTSTRAP": env.kafka_bootstrap,
            "LIVECOMMERCE_MONGO_URL": env.mongo_url,
            "LIVECOMMERCE_MEDIA_ROOT": str(tmp / "media"),
            "LIVECOMMERCE_HTTP_HOST": "127.0.0.1",
            "LIVECOMMERCE_HTTP_PORT": str(self.port),
            # The dev broker (Tansu) has no InitProducerId; Apache Kafka in compose has.
            "LIVECOMMERCE_KAFKA_IDEMPOTENT_PRODUCER": "false",
        }
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")}
        for key, value in compose()["services"]["api"]["environment"].items():
            value = str(value)
            if value.startswith("/run/secrets/"):
                value = str(run / value.removeprefix("/run/secrets/"))
            environment[key] = here.get(key, value)
        environment.update(
            LIVECOMMERCE_MONGO_DB=env.mongo_db,
            LIVECOMMERCE_TOPIC_PREFIX=env.topic_prefix,
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )
        self.log_path = log_dir / f"composed-api-{self.port}.log"
        # Compose runs its `migrate` service to completion first; the api only verifies the schema.
        subprocess.run(
            [sys.executable, "-m", "interfaces.cli", "migrate"],
            cwd=tmp,
            env=environment,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "api"],
            cwd=tmp,
            env=environment,
            stdout=open(self.log_path, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_forged_admin_token_is_refused_by_an_api_configured_like_docker_compose(
    environments: Environments, tmp_path: Path, log_dir: Path
) -> None:
    env = environments.new()
    real_secret = secrets.token_hex(32)
    api = ComposedApi(env, tmp_path, log_dir, jwt_secret=real_secret)
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{api.url}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                assert api.popen.poll() is None, api.output()[-3000:]
                return False

        wait_until(up, timeout=60, what="the composed API")
        admin = str(uuid.uuid4())
        forged = issue_token(Settings(jwt_secret=DEV_JWT_SECRET), admin, ["admin"])  # what the source gives
        r = httpx.get(api.url + ADMIN_ONLY, headers=bearer(forged), timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token", r.text
        unsigned = jwt.encode(
            {"sub": admin, "roles": ["admin"], "exp": int(time.time()) + 60}, key=None, algorithm="none"
        )
        assert httpx.get(api.url + ADMIN_ONLY, headers=bearer(unsigned), timeout=10).status_code == 401
        real = issue_token(Settings(jwt_secret=real_secret), admin, ["admin"])
        r = httpx.get(api.url + ADMIN_ONLY, headers=bearer(real), timeout=10)
        assert r.status_code == 200 and r.json()["applications"] == [], r.text
    finally:
        api.stop()


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "short-secret"])
def test_an_api_configured_like_docker_compose_refuses_to_start_with_a_weak_secret(
    environments: Environments, tmp_path: Path, log_dir: Path, secret: str
) -> None:
    api = ComposedApi(environments.new(), tmp_path, log_dir, jwt_secret=secret)
    try:
        assert api.popen.wait(60) == 2
        assert "refusing to start" in api.output()
        assert ("development one" if secret == DEV_JWT_SECRET else "shorter than 32 bytes") in api.output()
    finally:
        api.stop()


# -- RS256 from an identity provider's JWKS ------------------------------------------------------------------
class Jwks:
    """An identity provider's JWKS endpoint over real HTTP; counts how often it is asked."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.hits = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                jwks.hits += 1
                body = json.dumps(
                    {
                        "keys": [
                            {
                                **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())),
                                "kid": kid,
                                "use": "sig",
                                "alg": "RS256",
                            }
                            for kid, k in jwks.keys.items()
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]


ISSUER, AUDIENCE = "https://id.example.com.bd/", "livecommerce-api"


def rs256(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "sub": str(uuid.uuid4()),
        "roles": ["admin"],
        "iat": now,
        "exp": now + 300,
        "iss": ISSUER,
        "aud": AUDIENCE,
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def idp() -> Iterator[Jwks]:
    jwks = Jwks()
    yield jwks
    jwks.server.shutdown()


def test_rs256_tokens_are_checked_against_the_providers_jwks_issuer_and_audience(
    environments: Environments, log_dir: Path, idp: Jwks
) -> None:
    key = idp.add_key("k1")
    env = environments.new().model_copy(
        update={
            "http_port": free_port(),
            "jwt_algorithm": "RS256",
            "jwt_jwks_url": idp.url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "jwt_jwks_refresh_s": 2.0,
            "allow_dev_jwt_secret": False,
        }
    )
    api = Proc(env, "api", log_dir=log_dir, name="api-jwks")
    url = f"http://127.0.0.1:{env.http_port}"
    try:
        api.wait_for_output("realtime pusher ready", timeout=60)

        def status(token: str) -> int:
            return httpx.get(url + ADMIN_ONLY, headers=bearer(token), timeout=10).status_code

        assert status(rs256(key, "k1")) == 200
        assert status(rs256(key, "k1", aud="another-service")) == 401
        assert status(rs256(key, "k1", aud=None)) == 401
        assert status(rs256(key, "k1", iss="https://evil.example/")) == 401
        assert status(rs256(rsa.generate_private_key(public_exponent=65537, key_size=2048), "k1")) == 401
        assert status(issue_token(Settings(jwt_secret=DEV_JWT_SECRET), str(uuid.uuid4()), ["admin"])) == 401
        before = idp.hits
        for i in range(20):  # made-up key ids do not make the API hammer the provider
            assert status(rs256(key, f"made-up-{i}")) == 401
        assert idp.hits - before <= 1
        rotated = idp.add_key("k2")  # the provider rotates: a token with the new key id is accepted
        wait_until(
            lambda: status(rs256(rotated, "k2")) == 200,
            timeout=20,
            interval=0.5,
            what="a token signed with the rotated key",
        )
        assert status(rs256(key, "k1")) == 200
    finally:
        api.stop()


def test_a_jwks_url_without_issuer_and_audience_is_refused_at_start(
    environments: Environments, log_dir: Path, idp: Jwks
) -> None:
    idp.add_key("k1")
    env = environments.new().model_copy(
        update={"http_port": free_port(), "jwt_algorithm": "RS256", "jwt_jwks_url": idp.url, "jwt_issuer": ISSUER}
    )
    api = Proc(env, "api", log_dir=log_dir, name="api-jwks-no-audience")
    assert api.popen.wait(60) == 2
    assert "LIVECOMMERCE_JWT_AUDIENCE" in api.output()
    api.stop()

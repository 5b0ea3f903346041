"""MongoDB: MongoDB 7 in production; in the dev stack SecantusDB (`secantusd-py`, MongoDB wire protocol)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from infra.devstack._process import Launch
from infra.devstack._service import Service, missing, package_file
from infra.settings import Settings


def answers(url: str) -> bool:
    import pymongo
    from pymongo.errors import PyMongoError
    from pymongo.uri_parser import parse_uri

    try:  # fail fast when nothing listens: server selection would wait its whole timeout
        host, port = parse_uri(url)["nodelist"][0]
        socket.create_connection((host, port), timeout=1.5).close()
    except (OSError, PyMongoError, ValueError, IndexError):
        return False

    client: pymongo.MongoClient = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=1500, connectTimeoutMS=1500, socketTimeoutMS=3000
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def at_port(url: str, port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def launch(settings: Settings, url: str, port: int, data_dir: Path) -> Launch:
    if package_file("secantus") is None:
        raise missing("MongoDB-compatible server", "SecantusDB")
    script = Path(sys.executable).parent / "secantusd-py"
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "secantus"]
    argv = [*prefix, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data_dir)]
    return Launch(argv=argv, url=at_port(url, port))


SERVICE = Service(
    name="mongo",
    env_var="LIVECOMMERCE_MONGO_URL",
    standard_port=27017,
    settings_url=lambda settings: settings.mongo_url,
    answers=answers,
    launch=launch,
    at_port=at_port,
    dev_port=lambda settings: settings.dev_mongo_port,
)

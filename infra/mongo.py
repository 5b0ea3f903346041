"""MongoDB through PyMongo's async API (Motor reached end of life in May 2026)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient


def mongo_client(url: str) -> AsyncMongoClient[Any]:
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5_000)

"""A minimal HTTP/1.1 keep-alive client on asyncio streams: cheap enough per request that the load generator
does not steal the CPU the service under test needs (httpx costs ~1 ms of CPU per request here)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None else ""
        extra += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{extra}\r\n".encode()
        self.writer.write(head + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
        payload = await self.reader.readexactly(length) if length else b""
        return status, (json.loads(payload) if payload else None)


class Pool:
    def __init__(self, host: str, port: int, size: int) -> None:
        self._free: asyncio.Queue[Conn] = asyncio.Queue()
        for _ in range(size):
            self._free.put_nowait(Conn(host, port))

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        conn = await self._free.get()
        try:
            return await conn.request(method, path, body, headers)
        except Exception:
            conn.writer = None
            raise
        finally:
            self._free.put_nowait(conn)

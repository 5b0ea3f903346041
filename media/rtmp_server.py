"""The server side of RTMP, just enough for a publisher: handshake, commands up to ``publish``, then its media.

The ingest front door (``ingest_door.py``) terminates RTMP here: it answers ``connect``/``createStream``
itself, learns the stream key from ``publish`` *before* any media is accepted, and turns the publisher's
audio/video/data messages into an FLV byte stream for the show's worker (PyAV opens FLV with
``format="flv"``). Only the simple (version 3, no digest) handshake is offered, which is what publishers
(FFmpeg, OBS, phone SDKs) accept; player-side features (``play``, digests, AMF3 objects) are not.

What one connection may make it hold is bounded (ADR 0019): a message at most 64 KB before ``publish`` (and
for commands), 16 MB after; at most ``max_chunk_streams`` chunk streams; at most ``max_buffered`` bytes of
partly received messages across them. Past any bound it raises ``RtmpProtocolError`` and the door hangs up.
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass

from application.input_rules import clean_text, text_problem
from media.rtmp_chunks import COMMAND_TYPES, ChunkParser, Message, RtmpProtocolError, amf0_values

HANDSHAKE_SIZE = 1536
_OUT_CHUNK = 4096
_WINDOW = 2_500_000
_READ = 65536
MAX_CHUNK_STREAMS = 64  # publishers use a handful (control, commands, audio, video, data)
MAX_BUFFERED = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Publish:
    app: str
    key: str  # the stream name as sent, query string removed
    stream_id: int  # the RTMP message stream the publisher sends its media on


class RtmpServerConnection:
    """One publisher's connection, server side. ``accept_publish`` → ``Publish``; then ``read_media``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_chunk_streams: int = MAX_CHUNK_STREAMS,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self._r, self._w = reader, writer
        self._chunks = ChunkParser(max_chunk_streams=max_chunk_streams, max_buffered=max_buffered)
        self._read = 0  # bytes received, for acknowledgements
        self._acked = 0
        self._window = _WINDOW
        self.unpublished = False  # FCUnpublish / deleteStream seen: the host ended the show on purpose

    @property
    def media_allowed(self) -> bool:
        return self._chunks.media_allowed

    @media_allowed.setter
    def media_allowed(self, value: bool) -> None:
        self._chunks.media_allowed = value

    # -- reading -------------------------------------------------------------------------------------
    async def _exactly(self, n: int) -> bytes:
        data = await self._r.readexactly(n)
        self._read += n
        return data

    async def handshake(self) -> None:
        c0c1 = await self._exactly(1 + HANDSHAKE_SIZE)
        if c0c1[0] != 3:
            raise RtmpProtocolError(f"RTMP version {c0c1[0]} is not supported")
        s1 = bytes(8) + os.urandom(HANDSHAKE_SIZE - 8)  # time 0, zero: the simple handshake
        self._w.write(b"\x03" + s1 + c0c1[1:])  # S0, S1, S2 (= C1 echoed)
        await self._w.drain()
        await self._exactly(HANDSHAKE_SIZE)  # C2; publishers echo S1, nothing to check in the simple mode

    async def read_message(self) -> Message:
        """The next whole message (control messages are applied, not returned). The parser is fed only when it
        has no whole message left, so nothing after ``publish`` is parsed before the door allows media."""
        while True:
            msg = self._chunks.next()
            if msg is None:
                data = await self._r.read(_READ)
                if not data:
                    raise asyncio.IncompleteReadError(b"", None)
                self._read += len(data)
                self._chunks.feed(data)
                continue
            if msg.type == 5 and len(msg.payload) >= 4:
                self._window = max(4096, int.from_bytes(msg.payload[:4], "big"))
                continue
            if msg.type in (3, 4, 6):
                continue
            await self._maybe_ack()
            return msg

    async def _maybe_ack(self) -> None:
        if self._read - self._acked >= self._window:
            self._acked = self._read
            self._send(2, 3, 0, struct.pack(">I", self._read & 0xFFFFFFFF))
            await self._w.drain()

    # -- writing -------------------------------------------------------------------------------------
    def _send(self, csid: int, mtype: int, msid: int, payload: bytes, timestamp: int = 0) -> None:
        out = bytearray([csid & 0x3F])
        out += min(timestamp, 0xFFFFFF).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
        out += bytes([mtype]) + msid.to_bytes(4, "little")
        for i in range(0, max(1, len(payload)), _OUT_CHUNK):
            if i:
                out.append(0xC0 | (csid & 0x3F))
            out += payload[i : i + _OUT_CHUNK]
        self._w.write(bytes(out))

    def _command(self, csid: int, msid: int, *values: object) -> None:
        self._send(csid, 20, msid, b"".join(amf0(v) for v in values))

    async def status(self, msid: int, level: str, code: str, description: str) -> None:
        self._command(5, msid, "onStatus", 0.0, None, {"level": level, "code": code, "description": description})
        await self._w.drain()

    # -- the conversation up to publish --------------------------------------------------------------
    async def accept_publish(self, *, handshake: bool = True) -> Publish:
        """Handshake (unless done already), answer connect/createStream; return at ``publish`` (not yet
        answered)."""
        if handshake:
            await self.handshake()
        app = ""
        while True:
            msg = await self.read_message()
            if msg.type not in COMMAND_TYPES:
                continue  # AMF0 data or anything else before publish: nothing for us
            name, txn, args = _command(msg)
            if name == "connect":
                info = args[0] if args and isinstance(args[0], dict) else {}
                app = str(info.get("app") or "").strip("/")
                self._send(2, 5, 0, struct.pack(">I", _WINDOW))  # window acknowledgement size
                self._send(2, 6, 0, struct.pack(">IB", _WINDOW, 2))  # peer bandwidth, dynamic
                self._send(2, 1, 0, struct.pack(">I", _OUT_CHUNK))  # our chunk size
                self._command(
                    3,
                    0,
                    "_result",
                    txn,
                    {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0},
                    {
                        "level": "status",
                        "code": "NetConnection.Connect.Success",
                        "description": "Connection succeeded.",
                        "objectEncoding": 0.0,
                    },
                )
            elif name == "createStream":
                self._command(3, 0, "_result", txn, None, 1.0)
            elif name in ("releaseStream", "FCPublish"):
                self._command(3, 0, "_result", txn, None, None)
            elif name == "publish":
                key = str(args[1] if len(args) > 1 else "").split("?", 1)[0]
                if len(key) > 256 or text_problem(key, multiline=False) is not None:
                    key = ""  # not a key we issue (ADR 0018): refused as unknown, never looked up
                return Publish(app=clean_text(app, 256), key=key, stream_id=msg.stream_id or 1)
            elif name == "play":
                raise PlayNotAllowed
            await self._w.drain()

    def command_name(self, msg: Message) -> str | None:
        if msg.type not in COMMAND_TYPES:
            return None
        try:
            return _command(msg)[0]
        except RtmpProtocolError:
            return None

    def close(self) -> None:
        self._w.close()


class PlayNotAllowed(Exception):
    pass


def _command(msg: Message) -> tuple[str, float, list[object]]:
    payload = msg.payload[1:] if msg.type == 17 else msg.payload  # AMF3 command: a marker, then AMF0
    values = amf0_values(payload, limit=8)
    if not values or not isinstance(values[0], str):
        raise RtmpProtocolError("command without a name")
    txn = values[1] if len(values) > 1 and isinstance(values[1], float) else 0.0
    return values[0], txn, list(values[2:])  # [command object, arguments...]


def amf0(value: object) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, int | float):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        return b"\x02" + len(raw).to_bytes(2, "big") + raw
    if isinstance(value, dict):
        out = bytearray(b"\x03")
        for k, v in value.items():
            kb = k.encode()
            out += len(kb).to_bytes(2, "big") + kb + amf0(v)
        return bytes(out + b"\x00\x00\x09")
    raise TypeError(f"no AMF0 encoding for {type(value).__name__}")


# -- FLV ---------------------------------------------------------------------------------------------
FLV_HEADER = b"FLV\x01\x05\x00\x00\x00\x09" + bytes(4)  # audio + video, then PreviousTagSize0
_SET_DATA_FRAME = amf0("@setDataFrame")


def flv_tags(msg: Message) -> bytes:
    """The FLV tag(s) for one media message; b"" for anything that is not media."""
    if msg.type in (8, 9):
        return _tag(msg.type, msg.timestamp, msg.payload)
    if msg.type == 18:
        payload = msg.payload
        if payload.startswith(_SET_DATA_FRAME):  # what publishers send; FLV files hold onMetaData itself
            payload = payload[len(_SET_DATA_FRAME) :]
        return _tag(18, msg.timestamp, payload)
    if msg.type == 22:  # aggregate: FLV tags with back pointers, timestamps relative to the first
        out, i, first = bytearray(), 0, None
        p = msg.payload
        while i + 11 <= len(p):
            ttype, size = p[i], int.from_bytes(p[i + 1 : i + 4], "big")
            ts = int.from_bytes(p[i + 4 : i + 7], "big") | (p[i + 7] << 24)
            first = ts if first is None else first
            body = p[i + 11 : i + 11 + size]
            if ttype in (8, 9, 18) and len(body) == size:
                out += _tag(ttype, (msg.timestamp + ts - first) & 0xFFFFFFFF, body)
            i += 11 + size + 4
        return bytes(out)
    return b""


def _tag(ttype: int, timestamp: int, body: bytes) -> bytes:
    ts = timestamp & 0xFFFFFFFF
    head = (
        bytes([ttype])
        + len(body).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes([ts >> 24])
        + bytes(3)
    )
    return head + body + (11 + len(body)).to_bytes(4, "big")

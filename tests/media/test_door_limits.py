"""The RTMP door's limits (issue 19 part 7): caps, timeouts and bounded buffers, over real TCP sockets.

- A hypothesis fuzz of the door's RTMP parsing: random (and truncated) handshakes, chunk sizes, chunk stream
  ids, huge message lengths, unknown message types, AMF0 commands with odd values, split across TCP writes,
  sent to an ``IngestDoor`` serving a real port in this process. The door never fails (no unexpected exception
  logged), lets go of every connection, still answers a publisher after; and this process's RSS after rounds
  of such cases stays within a generous bound of what it was after a warm-up round. The gate's sniffer gets
  the same streams.
- Connection caps and the handshake / publish timeouts against a running ``livecommerce ingest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media.events import CollectingSink
from media.ingest import RtmpListen, StaticStreamKeys
from media.ingest_door import IngestDoor
from media.rtmp_chunks import ChunkSniffer, RtmpProtocolError
from media.rtmp_server import RtmpServerConnection, amf0
from tests.conftest import Environments
from tests.support import wait_until

# -- an RTMP publisher, byte by byte -------------------------------------------------------------------------


def chunks(csid: int, mtype: int, payload: bytes, *, chunk_size: int = 128, msid: int = 0, ts: int = 0) -> bytes:
    out = bytearray([csid]) + min(ts, 0xFFFFFF).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
    out += bytes([mtype]) + msid.to_bytes(4, "little")
    for i in range(0, max(1, len(payload)), chunk_size):
        if i:
            out.append(0xC0 | csid)
        out += payload[i : i + chunk_size]
    return bytes(out)


def command(name: str, txn: float, *values: object, msid: int = 0) -> bytes:
    return chunks(3, 20, b"".join(amf0(v) for v in (name, txn, *values)), msid=msid)


def publish_conversation(key: str) -> bytes:
    return (
        command("connect", 1.0, {"app": "live", "type": "nonprivate"})
        + command("createStream", 2.0, None)
        + command("publish", 3.0, None, key, "live", msid=1)
    )


def rtmp_publish(port: int, key: str, *, source: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Handshake, connect, createStream, publish ``key``; everything the door answered until it hung up."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(b"\x03" + bytes(1536))
        got = b""
        while len(got) < 1 + 2 * 1536:
            data = s.recv(65536)
            assert data, "closed during the handshake"
            got += data
        s.sendall(bytes(1536) + publish_conversation(key))
        answer = got[1 + 2 * 1536 :]
        while data := s.recv(65536):
            answer += data
        return answer


# -- the door in this process, on a real port ------------------------------------------------------------------


class DoorThread:
    """An ``IngestDoor`` on its own event loop in a thread, so sync hypothesis cases can talk to it."""

    def __init__(self, **kw: Any) -> None:
        self.sink = CollectingSink()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="door").start()

        def no_worker(stream_id: str) -> list[str]:
            raise AssertionError("no fuzz case may reach a worker")

        self.door = IngestDoor(
            listen=RtmpListen("127.0.0.1", 0),
            keys=StaticStreamKeys({"sk-secret": "show-x"}),
            sink=self.sink,
            worker_command=no_worker,
            **kw,
        )
        self.run(self.door.start())
        self.port = self.door.port

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def idle(self) -> bool:
        return not self.door._conns and not self.door._tasks and not self.door._per_ip

    def close(self) -> None:
        self.run(self.door.close())
        self.loop.call_soon_threadsafe(self.loop.stop)


class Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def door() -> Iterator[DoorThread]:
    d = DoorThread(
        handshake_timeout_s=2.0, publish_timeout_s=2.0, read_timeout_s=2.0, max_per_ip=1000, max_connections=1000
    )
    yield d
    d.close()


# -- what a fuzz case sends -----------------------------------------------------------------------------------

csids = st.one_of(st.integers(2, 63), st.integers(64, 319), st.integers(320, 65599))
amf_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=40)),
    lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@st.composite
def raw_chunk(draw: st.DrawFn) -> bytes:
    """One chunk with any header: format, chunk stream id (1-3 byte forms), timestamp (extended too), length up
    to 16 MB, any message type, a body of any size (usually shorter than the length says)."""
    fmt, csid = draw(st.integers(0, 3)), draw(csids)
    if csid < 64:
        head = bytes([fmt << 6 | csid])
    elif csid < 320:
        head = bytes([fmt << 6, csid - 64])
    else:
        head = bytes([fmt << 6 | 1]) + (csid - 64).to_bytes(2, "little")
    ts = draw(st.sampled_from([0, 40, 0xFFFFFF]))
    length = draw(st.one_of(st.integers(0, 300), st.integers(0, 0xFFFFFF)))
    mtype = draw(st.integers(0, 255))
    header = (
        ts.to_bytes(3, "big") + length.to_bytes(3, "big") + bytes([mtype]) + draw(st.binary(min_size=4, max_size=4))
    )
    header = header[: (11, 7, 3, 0)[fmt]]
    extended = draw(st.binary(min_size=4, max_size=4)) if ts == 0xFFFFFF and fmt < 3 else b""
    return head + header + extended + draw(st.binary(max_size=600))


@st.composite
def control_or_command(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["chunk_size", "abort", "window", "command", "command3", "big"]))
    if kind == "chunk_size":
        return chunks(2, 1, struct.pack(">I", draw(st.integers(0, 0xFFFFFFFF))))
    if kind == "abort":
        return chunks(2, 2, struct.pack(">I", draw(st.integers(0, 70000))))
    if kind == "window":
        return chunks(2, 5, struct.pack(">I", draw(st.integers(0, 0xFFFFFFFF))))
    if kind == "big":  # says 16 MB and sends a little of it
        mtype = draw(st.sampled_from([8, 9, 18, 20, 99]))
        return (
            bytes([4])
            + bytes(3)
            + (0xFFFFFF).to_bytes(3, "big")
            + bytes([mtype])
            + bytes(4)
            + bytes(draw(st.integers(0, 4000)))
        )
    name = draw(
        st.sampled_from(
            [
                "connect",
                "createStream",
                "releaseStream",
                "FCPublish",
                "publish",
                "play",
                "deleteStream",
                "\x00",
                "x" * 300,
            ]
        )
    )
    values = draw(st.lists(amf_values, max_size=4))
    try:
        body = b"".join(amf0(v) for v in (name, draw(st.floats(0, 10)), *values))
    except (TypeError, UnicodeEncodeError):
        body = amf0(name)
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]  # cut short: bad AMF0
    return chunks(
        3,
        17 if kind == "command3" else 20,
        (b"\x00" if kind == "command3" else b"") + body,
        chunk_size=draw(st.sampled_from([1, 7, 128, 4096])),
    )


@st.composite
def rtmp_stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """(bytes, where to split them into TCP writes)."""
    version = draw(st.sampled_from([3, 3, 3, 6, 0]))
    handshake = bytes([version]) + draw(st.binary(min_size=0, max_size=64))
    handshake = (handshake + bytes(1537))[:1537] + bytes(1536)
    if draw(st.booleans()):
        handshake = handshake[: draw(st.integers(0, len(handshake)))]  # truncated
    body = b"".join(draw(st.lists(st.one_of(raw_chunk(), control_or_command()), max_size=12)))
    data = handshake + body
    cuts = sorted(draw(st.lists(st.integers(0, max(0, len(data))), max_size=5)))
    return data, cuts


def send_case(port: int, data: bytes, cuts: list[int]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, like a lost phone
        last = 0
        with contextlib.suppress(OSError):  # the door may hang up first: that is its right
            for cut in [*cuts, len(data)]:
                s.sendall(data[last:cut])
                last = cut
            s.shutdown(socket.SHUT_WR)
            s.settimeout(3)
            while s.recv(65536):
                pass


CASES = int(os.environ.get("DOOR_FUZZ_CASES", "400"))


def test_fuzzed_chunk_streams_never_break_the_door(door: DoorThread) -> None:
    failures = Failures()
    logging.getLogger("media").addHandler(failures)
    seen = 0

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rtmp_stream())
    def case(stream: tuple[bytes, list[int]]) -> None:
        nonlocal seen
        send_case(door.port, *stream)
        wait_until(door.idle, timeout=10, interval=0.005, what="the door to let go of the connection")
        assert [r.getMessage() for r in failures.records] == []
        seen += 1

    try:
        case()
    finally:
        logging.getLogger("media").removeHandler(failures)
    assert seen >= CASES // 2
    assert not door.door.workers and door.door.refused_caps == 0
    assert b"unknown_stream_key" in rtmp_publish(door.port, "sk-guess")  # and it still answers a publisher


def test_the_doors_memory_stays_flat_over_repeated_fuzz_cases(door: DoorThread) -> None:
    """RSS of this process (the door's) after one round of fuzz cases, then after three more rounds of the same
    cases. Hypothesis draws them all first: its own bookkeeping grows with every example it generates (about
    30 KB each, measured), which is not the door's."""
    cases: list[tuple[bytes, list[int]]] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rtmp_stream())
    def draw(stream: tuple[bytes, list[int]]) -> None:
        cases.append(stream)

    draw()

    def one_round() -> int:
        for data, cuts in cases:
            send_case(door.port, data, cuts)
            wait_until(door.idle, timeout=10, interval=0.005, what="the door to let go of the connection")
        gc.collect()
        return int(psutil.Process().memory_info().rss)

    before = one_round()  # warm-up: allocator pools and caches at their working size
    for _ in range(3):
        after = one_round()
    grown = after - before
    print(f"door RSS over {3 * len(cases)} fuzz cases: {before / 1e6:.1f} → {after / 1e6:.1f} MB")
    assert grown < 32 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB over {3 * len(cases)} cases"
    assert door.idle()


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtmp_stream())
def test_the_gates_sniffer_takes_any_chunk_stream_without_an_unexpected_error(stream: tuple[bytes, list[int]]) -> None:
    data, cuts = stream
    sniffer = ChunkSniffer()
    last = 0
    try:
        for cut in [*cuts, len(data)]:
            sniffer.feed(data[last:cut])
            last = cut
    except RtmpProtocolError:
        pass
    parser = sniffer.parser
    assert parser.buffered <= parser.max_buffered and parser.chunk_streams <= parser.max_chunk_streams


async def test_partial_messages_on_many_chunk_streams_are_bounded() -> None:
    """Past ``max_chunk_streams`` or ``max_buffered`` bytes of partial messages the connection is refused,
    before it holds them."""

    class Sink:
        def write(self, data: bytes) -> None:
            pass

    async def parse(data: bytes, **kw: Any) -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        conn = RtmpServerConnection(reader, Sink(), **kw)  # type: ignore[arg-type]
        conn.media_allowed = True
        try:
            while True:
                await conn.read_message()
        except RtmpProtocolError as exc:
            return str(exc)
        except asyncio.IncompleteReadError:
            return "end"

    many = b"".join(chunks(c, 9, bytes(200)) for c in range(2, 40))  # 38 chunk streams, each one chunk
    assert await parse(many, max_chunk_streams=16) == "more than 16 chunk streams"
    big_chunk = chunks(2, 1, struct.pack(">I", 1 << 20))  # chunk size 1 MB
    partial = b"".join(chunks(c, 9, bytes(4 << 20), chunk_size=1 << 20)[: (1 << 20) + 12] for c in range(3, 13))
    assert await parse(big_chunk + partial, max_buffered=8 << 20) == "more than 8388608 bytes of partial messages"
    assert await parse(big_chunk + partial[: (1 << 20) * 3 + 40], max_buffered=8 << 20) == "end"


# -- caps and timeouts against the running `livecommerce ingest` ------------------------------------------------


def idle_socket(port: int, source: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    return s


def closed_by_door(s: socket.socket) -> bool:
    """True once the door has hung up on ``s`` (EOF or reset), without us sending anything."""
    try:
        return s.recv(65536) == b""
    except ConnectionResetError:
        return True


@pytest.mark.slow
def test_the_running_door_caps_connections_in_all_and_per_address_and_times_out_silent_ones(
    environments: Environments, log_dir: Path, tmp_path: Path
) -> None:
    from tests.media.test_ingest_door import door as start_door

    env = environments.new().model_copy(
        update={
            "ingest_max_connections": 5,
            "ingest_max_per_ip": 3,
            "ingest_handshake_timeout_s": 2.0,
            "ingest_publish_timeout_s": 4.0,
        }
    )
    env, ingest = start_door(env, log_dir, tmp_path)
    port = int(env.rtmp_base_url.rsplit(":", 1)[1].split("/")[0])
    opened: list[socket.socket] = []
    try:
        opened += [idle_socket(port, "127.0.0.1") for _ in range(3)]
        time.sleep(0.3)  # let the door register them
        extra = idle_socket(port, "127.0.0.1")  # a 4th from the same address: closed at once, before any RTMP
        extra.settimeout(1.5)
        assert closed_by_door(extra)
        opened += [idle_socket(port, "127.0.0.2") for _ in range(2)]  # another address: still welcome
        time.sleep(0.3)
        third = idle_socket(port, "127.0.0.3")  # 6th in all: over the total cap
        third.settimeout(1.5)
        assert closed_by_door(third)
        # The silent ones are let go (no handshake in time), and the caps free up.
        for s in opened:
            s.settimeout(15)
            assert closed_by_door(s)
        # A client that shakes hands and then never publishes is let go too.
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(b"\x03" + bytes(1536))
            got = b""
            while len(got) < 3073:
                got += s.recv(65536)
            s.sendall(bytes(1536) + command("connect", 1.0, {"app": "live"}))
            while data := s.recv(65536):
                got += data
            assert got[0] == 3 and b"NetConnection.Connect.Success" in got
        assert b"unknown_stream_key" in rtmp_publish(port, "sk-nobody", source="127.0.0.4")
        assert "connection from 127.0.0.1 refused" in ingest.output()
        assert ingest.popen.poll() is None
    finally:
        for s in opened:
            s.close()
        ingest.stop()

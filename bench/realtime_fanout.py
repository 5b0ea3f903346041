"""Realtime fan-out: N viewers of one show, 50 chat messages/s and 500 likes/s, beside a bare python-socketio
server doing plain room emits in the same run.

Viewers are socket.io v4 clients on raw websockets (an asyncio protocol that parses frames as they arrive),
spread over several processes, so the clients cost little next to the server being measured. For each server it prints:
viewers connected, chat latency send → receive (p50/p99), frames per second per viewer, the server's CPU and
its RSS per viewer, and the ratios ours/baseline.

    python -m bench.realtime_fanout [--clients 1000] [--procs 4] [--seconds 15] [--msgs 50] [--likes 500]
                                    [--chat-batch]

With ``--chat-batch`` our viewers join with ``chat_batch`` (big-show mode: the chat as one ``new_messages``
frame per 200 ms window); every message in a batch counts for the latency, from its send to the frame's arrival.

"ours" is ``livecommerce api`` (Redis adapter, Kafka publishing, moderation, coalesced counts and reactions);
"baseline" is python-socketio's AsyncServer with its default manager relaying every message and every like to
the room as it comes (``--serve-baseline PORT`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import re
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

NS = "/live-stream"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stats:
    frames: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    counting: bool = False


# --- a minimal socket.io v4 client on a raw websocket (receivers and senders) -------------------------------
# An asyncio.Protocol that parses frames in data_received: no task per socket, no wake-up per frame. The
# clients share the machine's two cores with the server being measured; a heavier client (the `websockets`
# library: a task per socket and a future per message, ~25 µs a frame) measured mostly itself at 5,000 viewers.
SAMPLED_PER_PROC = 250
TIMESTAMP = re.compile(rb" (\d{10}\.\d{6})\\?\"")  # the send time at the end of each bench chat message


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client → server frame (RFC 6455 §5.2: clients mask)."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65_536:
        head = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
    mask = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big") if n else b""
    return head + key + body


class WireClient(asyncio.Protocol):
    def __init__(self, port: int, token: str | None, stats: Stats | None = None, sampled: bool = False) -> None:
        self.port, self.token, self.stats, self.sampled = port, token, stats, sampled
        self.transport: Any = None
        self.buf = b""
        self.upgraded = False
        self.joined: asyncio.Future[None] | None = None

    async def connect(self, stream_id: str, chat_batch: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.joined = loop.create_future()
        await loop.create_connection(lambda: self, "127.0.0.1", self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self._stream, self._batch = stream_id, chat_batch
        await asyncio.wait_for(self.joined, 120)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.joined is not None and not self.joined.done():
            self.joined.set_exception(ConnectionError("closed before joining"))

    def send_text(self, text: str) -> None:
        self.transport.write(_masked(0x1, text.encode()))

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        self.send_text(f"42{NS}," + json.dumps([event, data], ensure_ascii=False))

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.joined.set_exception(RuntimeError(buf[:200].decode(errors="replace")))  # type: ignore[union-attr]
                return
            self.upgraded, buf = True, buf[end + 4 :]
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            size, head = b1 & 0x7F, 2
            if size == 126:
                if n - pos < 4:
                    break
                size, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif size == 127:
                if n - pos < 10:
                    break
                size, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if n - pos < head + size:
                break
            payload = buf[pos + head : pos + head + size]
            pos += head + size
            opcode = b0 & 0x0F
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:
                self.transport.write(_masked(0xA, payload))
            elif opcode == 0x8:
                self.transport.close()
        self.buf = buf[pos:]

    def on_text(self, p: bytes) -> None:
        if p == b"2":  # engine.io ping
            self.send_text("3")
            return
        st = self.stats
        if st is not None and st.counting:
            st.frames += 1
            if self.sampled and b'"new_message' in p[:40]:  # new_message(s): each message counts
                now = time.time()
                st.latencies_ms.extend((now - float(t)) * 1000 for t in TIMESTAMP.findall(p))
            return
        if self.joined is None or self.joined.done():
            return
        if p.startswith(b"0{"):  # engine.io open → socket.io connect with the token
            self.send_text(f"40{NS}," + (json.dumps({"token": self.token}) if self.token else "{}"))
        elif p.startswith(f"40{NS}".encode()):
            self.send_text(
                f"42{NS},"
                + json.dumps(
                    [
                        "join_stream",
                        {
                            "stream_id": self._stream,
                            "viewer_info": {"device_type": "mobile", "location": "Dhaka"},
                            **({"chat_batch": True} if self._batch else {}),
                        },
                    ]
                )
            )
            self.joined.set_result(None)
        elif p.startswith(f"44{NS}".encode()):
            self.joined.set_exception(RuntimeError(f"refused: {p[:200]!r}"))


def receiver_proc(
    port: int,
    tokens: list[str | None],
    stream_id: str,
    ready: Any,
    go: Any,
    out: Any,
    seconds: float,
    chat_batch: bool = False,
) -> None:
    async def main() -> None:
        st = Stats()
        # Every viewer counts its frames; one in `every` also times every chat message it gets (at 10,000
        # viewers and 50 messages a second, timing them all would be 500,000 samples a second: the clients'
        # CPU, not the server's latency).
        every = max(1, len(tokens) // SAMPLED_PER_PROC)
        clients = [WireClient(port, t, st, sampled=i % every == 0) for i, t in enumerate(tokens)]
        for i in range(0, len(clients), 50):  # a few at a time: a herd would measure accept(), not fan-out
            await asyncio.gather(*(c.connect(stream_id, chat_batch) for c in clients[i : i + 50]))
        ready.put(len(clients))
        while not go.is_set():
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # warm-up: not counted
        st.counting = True
        await asyncio.sleep(seconds)
        st.counting = False
        out.put(
            (
                st.frames,
                st.latencies_ms[:: max(1, len(st.latencies_ms) // 20_000)],
                len(clients),
                len(st.latencies_ms),
                sum(c.sampled for c in clients),
            )
        )
        for c in clients:
            c.transport.close()

    uvloop.run(main())


async def drive(
    port: int, tokens: list[str | None], stream_id: str, msgs: float, likes: float, seconds: float
) -> tuple[int, int]:
    """Chat from 100 senders and likes from 100 likers, paced; each under the per-user limits."""
    senders = [WireClient(port, tokens[i % len(tokens)]) for i in range(100)]
    likers = [WireClient(port, tokens[(i + 100) % len(tokens)]) for i in range(100)]
    for i in range(0, 200, 25):
        await asyncio.gather(*(c.connect(stream_id) for c in (senders + likers)[i : i + 25]))
    sent = liked = 0
    t0 = time.monotonic()
    while (now := time.monotonic() - t0) < seconds + 1.5:
        while sent < now * msgs:
            await senders[sent % 100].emit(
                "send_message", {"stream_id": stream_id, "message": f"দাম কত? #{sent} {time.time():.6f}"}
            )
            sent += 1
        while liked < now * likes:
            await likers[liked % 100].emit("react", {"stream_id": stream_id, "reaction_type": "like"})
            liked += 1
        await asyncio.sleep(0.005)
    for c in senders + likers:
        c.transport.close()
    return sent, liked


# --- the servers --------------------------------------------------------------------------------------------
def serve_baseline(port: int) -> None:
    import socketio
    from sanic import Sanic

    sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins="*")
    app = Sanic("baseline")
    sio.attach(app)

    @sio.on("join_stream", namespace=NS)
    async def join(sid: str, data: dict[str, Any]) -> None:
        await sio.enter_room(sid, data["stream_id"], namespace=NS)

    @sio.on("send_message", namespace=NS)
    async def chat(sid: str, data: dict[str, Any]) -> None:
        msg = {"stream_id": data["stream_id"], "message": data["message"], "user_id": sid}
        await sio.emit("new_message", msg, room=data["stream_id"], namespace=NS)

    @sio.on("react", namespace=NS)
    async def react(sid: str, data: dict[str, Any]) -> None:
        await sio.emit(
            "reaction",
            {"stream_id": data["stream_id"], "reaction_type": data["reaction_type"]},
            room=data["stream_id"],
            namespace=NS,
        )

    print("baseline ready", flush=True)
    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


def run_phase(
    name: str,
    server: subprocess.Popen[bytes],
    port: int,
    tokens: list[str | None],
    stream_id: str,
    args: argparse.Namespace,
    chat_batch: bool = False,
) -> dict[str, float]:
    import psutil

    tree = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]

    def server_rss() -> int:
        return sum(p.memory_info().rss for p in tree)

    def server_cpu() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in tree)

    time.sleep(1.0)
    rss0 = server_rss()
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = args.clients // args.procs
    workers = [
        ctx.Process(
            target=receiver_proc,
            args=(port, tokens[i * per : (i + 1) * per], stream_id, ready, go, out, args.seconds, chat_batch),
        )
        for i in range(args.procs)
    ]
    for w in workers:
        w.start()
    connected = sum(ready.get(timeout=600) for _ in workers)
    time.sleep(1.0)
    rss1 = server_rss()
    viewers = [psutil.Process(w.pid) for w in workers]

    def clients_cpu() -> float:
        return sum(sum(v.cpu_times()[:2]) for v in viewers) + sum(os.times()[:2])

    print(f"{name}: {connected} viewers connected; measuring for {args.seconds:g} s", flush=True)
    go.set()
    cpu0, ccpu0, t0 = server_cpu(), clients_cpu(), time.monotonic()
    sent, liked = uvloop.run(drive(port, tokens, stream_id, args.msgs, args.likes, args.seconds))
    cpu1, ccpu1, t1 = server_cpu(), clients_cpu(), time.monotonic()
    frames, lat, timed, timers = 0, [], 0, 0
    for _ in workers:
        f, lt, _n, n_timed, n_timers = out.get(timeout=120)
        frames += f
        lat += lt
        timed += n_timed
        timers += n_timers
    for w in workers:
        w.join(10)
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * (len(lat) - 1)))] if lat else float("nan")

    # Server CPU seconds per chat message per viewer: what fan-out costs, and (unlike latency and frames
    # received) not inflated by the clients' own backlog on a small shared machine.
    res = {
        "viewers": connected,
        "p50_ms": q(0.5),
        "p99_ms": q(0.99),
        "fps_per_viewer": frames / connected / args.seconds,
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "clients_cpu_pct": 100 * (ccpu1 - ccpu0) / (t1 - t0),
        # chat messages the timing viewers got in the window, of those sent in it (a server that falls
        # behind shows a low figure here, and its latencies are those of the few it delivered)
        "delivered_pct": 100 * timed / max(1, timers * args.msgs * args.seconds),
        "frames_per_s": frames / args.seconds,
        "rss_kb_per_viewer": (rss1 - rss0) / 1024 / connected,
        "rss_mb": rss1 / 2**20,
        "sent_msgs": sent,
        "sent_likes": liked,
        "cpu_us_per_msg_viewer": (cpu1 - cpu0) * 1e6 / max(1, sent) / max(1, connected),
    }
    print(
        f"{name:9s} viewers={connected} chat latency p50={res['p50_ms']:.0f} ms p99={res['p99_ms']:.0f} ms "
        f"(chat delivered {res['delivered_pct']:.0f}%) frames sent/s={res['frames_per_s']:.0f} "
        f"frames/s/viewer={res['fps_per_viewer']:.1f} server CPU={res['cpu_pct']:.0f}% "
        f"(clients {res['clients_cpu_pct']:.0f}%) "
        f"CPU/msg/viewer={res['cpu_us_per_msg_viewer']:.1f} µs "
        f"RSS/viewer={res['rss_kb_per_viewer']:.1f} KB (RSS {res['rss_mb']:.0f} MB) "
        f"(sent {sent} msgs, {liked} likes)",
        flush=True,
    )
    return res


def _spawn(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """A server process whose output goes to a file (a pipe nobody reads would block it once full)."""
    import tempfile

    log = Path(tempfile.mkstemp(prefix="bench-rt-", suffix=".log")[1])
    p = subprocess.Popen(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return p, log


def _wait_line(p: subprocess.Popen[bytes], log: Path, text: str, timeout: float = 60, times: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if out.count(text) >= times:
            return
        if p.poll() is not None:
            raise RuntimeError(out[-2000:])
        time.sleep(0.1)
    raise RuntimeError(f"{text!r} not seen")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--msgs", type=float, default=50)
    ap.add_argument("--likes", type=float, default=500)
    ap.add_argument("--serve-baseline", type=int, metavar="PORT")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--writes-per-s",
        type=int,
        default=None,
        help="the gateway's fanout_writes_per_s (per process; default: the setting's)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway processes sharing the port (http_workers); the baseline stays one process",
    )
    ap.add_argument(
        "--chat-batch",
        action="store_true",
        help="our viewers join with chat_batch (chat as a few new_messages frames a second)",
    )
    args = ap.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return

    import redis

    from bench._env import drop, fresh_settings
    from infra.tokens import issue_token

    port = _free_port()
    settings = fresh_settings(
        http_port=port,
        client_queue_limit=1000,
        http_workers=args.workers,
        **({"fanout_writes_per_s": args.writes_per_s} if args.writes_per_s else {}),
    )
    stream_id = str(uuid.uuid4())
    redis.Redis.from_url(settings.redis_url).hset(f"STREAM_STATUS:{stream_id}", mapping={"status": "live"})
    tokens: list[str | None] = [
        issue_token(settings, f"viewer-{i}", (), f"viewer {i}", ttl=3600) for i in range(args.clients + 200)
    ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")},
        **{f"LIVECOMMERCE_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None},
    }
    results = {}
    api, api_log = _spawn(["interfaces.cli", "api"], env)
    try:
        _wait_line(api, api_log, "realtime pusher ready", times=args.workers)
        results["ours"] = run_phase(
            "ours" + (" (chat_batch)" if args.chat_batch else ""),
            api,
            port,
            tokens,
            stream_id,
            args,
            chat_batch=args.chat_batch,
        )
    finally:
        api.terminate()  # a graceful stop sends presence.left for every viewer: give it time, then insist
        try:
            api.wait(120)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait(20)
        drop(settings)
    if not args.skip_baseline:
        bport = _free_port()
        base, base_log = _spawn(["bench.realtime_fanout", "--serve-baseline", str(bport)])
        try:
            _wait_line(base, base_log, "baseline ready")
            time.sleep(1.0)
            results["baseline"] = run_phase("baseline", base, bport, tokens, stream_id, args)
        finally:
            base.kill()  # a bare server busy with a backlog ignores SIGTERM for a long while
            base.wait(20)
        o, b = results["ours"], results["baseline"]
        print(
            f"ratios ours/baseline: p50 {o['p50_ms'] / b['p50_ms']:.2f}x, "
            f"p99 {o['p99_ms'] / b['p99_ms']:.2f}x, "
            f"frames/s/viewer {o['fps_per_viewer'] / b['fps_per_viewer']:.2f}x, "
            f"CPU {o['cpu_pct'] / max(b['cpu_pct'], 1e-9):.2f}x, "
            f"CPU/msg/viewer {o['cpu_us_per_msg_viewer'] / max(b['cpu_us_per_msg_viewer'], 1e-9):.2f}x, "
            f"RSS/viewer {o['rss_kb_per_viewer'] / max(b['rss_kb_per_viewer'], 1e-9):.2f}x"
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()

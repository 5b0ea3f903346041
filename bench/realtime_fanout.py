"""Realtime fan-out: N viewers of one show, 50 chat messages/s and 500 likes/s, beside a bare python-socketio
server doing plain room emits in the same run.

Viewers are raw engine.io/socket.io v4 websocket clients (a few lines over ``websockets``), spread over
several processes, so the clients cost little next to the server being measured. For each server it prints:
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
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NS = "/live-stream"
ROOT = Path(__file__).resolve().parent.parent


# --- a minimal socket.io v4 client over websockets (receivers and senders) ---------------------------------
class RawClient:
    def __init__(self, port: int, token: str | None) -> None:
        self.port, self.token = port, token
        self.ws: Any = None

    async def connect(self, stream_id: str, chat_batch: bool = False) -> None:
        import websockets

        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket",
                                           max_size=2**20, compression=None, open_timeout=60,
                                           ping_interval=None)
        await self.ws.recv()  # engine.io open packet
        await self.ws.send(f"40{NS}," + (json.dumps({"token": self.token}) if self.token else "{}"))
        while True:
            m = await self.ws.recv()
            if m == "2":
                await self.ws.send("3")
            elif m.startswith(f"40{NS}"):
                break
            elif m.startswith(f"44{NS}"):
                raise RuntimeError(f"refused: {m}")
        await self.emit("join_stream", {"stream_id": stream_id, "viewer_info": {"device_type": "mobile",
                                                                                 "location": "Dhaka"},
                                        **({"chat_batch": True} if chat_batch else {})})

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        await self.ws.send(f"42{NS}," + json.dumps([event, data], ensure_ascii=False))


@dataclass
class Stats:
    frames: int = 0
    latencies_ms: list[float] = field(default_factory=list)


async def _receive(c: RawClient, st: Stats, until: list[float]) -> None:
    marker = '["new_message'  # also new_messages
    while True:
        m = await c.ws.recv()
        if m == "2":
            await c.ws.send("3")
            continue
        if time.time() < until[0]:
            continue  # warm-up: not counted
        st.frames += 1
        if marker in m[:30]:  # new_message, or new_messages (a batch: every message in it counts)
            event, body = json.loads(m[m.index(","):][1:])[:2]
            now = time.time()
            for msg in body["messages"] if event == "new_messages" else [body]:
                st.latencies_ms.append((now - float(msg["message"].rsplit(" ", 1)[1])) * 1000)


def receiver_proc(port: int, tokens: list[str | None], stream_id: str, ready: Any, go: Any, out: Any,
                  seconds: float, chat_batch: bool = False) -> None:
    async def main() -> None:
        clients = [RawClient(port, t) for t in tokens]
        for i in range(0, len(clients), 25):  # a few at a time: a herd would measure accept(), not fan-out
            await asyncio.gather(*(c.connect(stream_id, chat_batch) for c in clients[i:i + 25]))
        st = Stats()
        start = [float("inf")]
        tasks = [asyncio.create_task(_receive(c, st, start)) for c in clients]
        ready.put(len(clients))
        while not go.is_set():
            await asyncio.sleep(0.05)
        start[0] = time.time() + 1.0
        await asyncio.sleep(seconds + 1.0)
        out.put((st.frames, st.latencies_ms[::max(1, len(st.latencies_ms) // 20_000)], len(clients)))
        for t in tasks:
            t.cancel()

    asyncio.run(main())


async def drive(port: int, tokens: list[str | None], stream_id: str, msgs: float, likes: float,
                seconds: float) -> tuple[int, int]:
    """Chat from 100 senders and likes from 100 likers, paced; each under the per-user limits."""
    senders = [RawClient(port, tokens[i % len(tokens)]) for i in range(100)]
    likers = [RawClient(port, tokens[(i + 100) % len(tokens)]) for i in range(100)]
    for i in range(0, 200, 25):
        await asyncio.gather(*(c.connect(stream_id) for c in (senders + likers)[i:i + 25]))
    for c in senders + likers:  # drain their own frames so their sockets never back up
        asyncio.create_task(_receive(c, Stats(), [float("inf")]))
    sent = liked = 0
    t0 = time.monotonic()
    while (now := time.monotonic() - t0) < seconds + 1.5:
        while sent < now * msgs:
            await senders[sent % 100].emit("send_message", {"stream_id": stream_id,
                                                            "message": f"দাম কত? #{sent} {time.time():.6f}"})
            sent += 1
        while liked < now * likes:
            await likers[liked % 100].emit("react", {"stream_id": stream_id, "reaction_type": "like"})
            liked += 1
        await asyncio.sleep(0.005)
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
        await sio.emit("reaction", {"stream_id": data["stream_id"], "reaction_type": data["reaction_type"]},
                       room=data["stream_id"], namespace=NS)

    print("baseline ready", flush=True)
    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


def run_phase(name: str, server: subprocess.Popen[bytes], port: int, tokens: list[str | None], stream_id: str,
              args: argparse.Namespace, chat_batch: bool = False) -> dict[str, float]:
    import psutil

    proc = psutil.Process(server.pid)
    time.sleep(1.0)
    rss0 = proc.memory_info().rss
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = args.clients // args.procs
    workers = [ctx.Process(target=receiver_proc, args=(port, tokens[i * per:(i + 1) * per], stream_id, ready,
                                                       go, out, args.seconds, chat_batch))
               for i in range(args.procs)]
    for w in workers:
        w.start()
    connected = sum(ready.get(timeout=600) for _ in workers)
    time.sleep(1.0)
    rss1 = proc.memory_info().rss
    go.set()
    cpu0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
    sent, liked = asyncio.run(drive(port, tokens, stream_id, args.msgs, args.likes, args.seconds))
    cpu1, t1 = sum(proc.cpu_times()[:2]), time.monotonic()
    frames, lat = 0, []
    for _ in workers:
        f, lt, _n = out.get(timeout=120)
        frames += f
        lat += lt
    for w in workers:
        w.join(10)
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * (len(lat) - 1)))] if lat else float("nan")

    # Server CPU seconds per chat message per viewer: what fan-out costs, and (unlike latency and frames
    # received) not inflated by the clients' own backlog on a small shared machine.
    res = {"viewers": connected, "p50_ms": q(0.5), "p99_ms": q(0.99),
           "fps_per_viewer": frames / connected / args.seconds, "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
           "rss_kb_per_viewer": (rss1 - rss0) / 1024 / connected, "sent_msgs": sent, "sent_likes": liked,
           "cpu_us_per_msg_viewer": (cpu1 - cpu0) * 1e6 / max(1, sent) / max(1, connected)}
    print(f"{name:9s} viewers={connected} chat latency p50={res['p50_ms']:.0f} ms p99={res['p99_ms']:.0f} ms "
          f"frames/s/viewer={res['fps_per_viewer']:.1f} server CPU={res['cpu_pct']:.0f}% "
          f"CPU/msg/viewer={res['cpu_us_per_msg_viewer']:.1f} µs "
          f"RSS/viewer={res['rss_kb_per_viewer']:.1f} KB (sent {sent} msgs, {liked} likes)", flush=True)
    return res


def _spawn(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """A server process whose output goes to a file (a pipe nobody reads would block it once full)."""
    import tempfile

    log = Path(tempfile.mkstemp(prefix="bench-rt-", suffix=".log")[1])
    p = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=log.open("wb"),
                         stderr=subprocess.STDOUT)
    return p, log


def _wait_line(p: subprocess.Popen[bytes], log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
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
    ap.add_argument("--chat-batch", action="store_true",
                    help="our viewers join with chat_batch (chat as a few new_messages frames a second)")
    args = ap.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return

    import redis

    from bench._env import drop, fresh_settings
    from infra.tokens import issue_token

    port = _free_port()
    settings = fresh_settings(http_port=port, client_queue_limit=1000)
    stream_id = str(uuid.uuid4())
    redis.Redis.from_url(settings.redis_url).hset(f"STREAM_STATUS:{stream_id}", mapping={"status": "live"})
    tokens: list[str | None] = [issue_token(settings, f"viewer-{i}", (), f"viewer {i}", ttl=3600)
                                for i in range(args.clients + 200)]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")},
           **{f"LIVECOMMERCE_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}}
    results = {}
    api, api_log = _spawn(["interfaces.cli", "api"], env)
    try:
        _wait_line(api, api_log, "realtime pusher ready")
        results["ours"] = run_phase("ours" + (" (chat_batch)" if args.chat_batch else ""), api, port, tokens,
                                    stream_id, args, chat_batch=args.chat_batch)
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
        print(f"ratios ours/baseline: p50 {o['p50_ms'] / b['p50_ms']:.2f}x, "
              f"p99 {o['p99_ms'] / b['p99_ms']:.2f}x, "
              f"frames/s/viewer {o['fps_per_viewer'] / b['fps_per_viewer']:.2f}x, "
              f"CPU {o['cpu_pct'] / max(b['cpu_pct'], 1e-9):.2f}x, "
              f"CPU/msg/viewer {o['cpu_us_per_msg_viewer'] / max(b['cpu_us_per_msg_viewer'], 1e-9):.2f}x, "
              f"RSS/viewer {o['rss_kb_per_viewer'] / max(b['rss_kb_per_viewer'], 1e-9):.2f}x")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()

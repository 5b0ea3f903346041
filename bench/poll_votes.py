"""Live poll under load (issue 14): N connected Socket.IO viewers of one show all vote in one poll within a window,
against ``livecommerce api`` + ``relay`` on the dev stack's real services (PostgreSQL event store, Kafka, Redis).

Viewers are raw engine.io websocket clients (``bench.realtime_fanout.WireClient``: an asyncio protocol, no task
per socket), spread over several processes. Each viewer is signed in, joins the show, waits for ``poll_started``,
then sends ``poll_vote`` (with an ack id) at its own moment in the window.

Figures:
- counted exactly once: every ack ``ok``; the poll's ``total_votes`` and per-option counts read back from the
  aggregate (``GET /polls/:id``) equal the votes sent; every viewer's last ``poll_results_update`` shows that total.
- delivery: the k-th ``VoteCast`` of the poll (read back from the event store) was accepted by the aggregate at
  its event timestamp (the server's clock at the decision, a little before the commit: this over-counts by the
  commit's own time); a viewer has "received the update containing it" at the first ``poll_results_update``
  with ``total_votes`` ≥ k. Latency = that moment − the acceptance, for every (vote, sampled viewer) pair (one
  machine, one clock). Also printed: the same from the voter's ack (which travels through the same loaded
  gateway and can arrive after the update: negative values), from the vote's send, and send → ack itself.

    python -m bench.poll_votes [--viewers 5000] [--procs 4] [--window 8] [--fps 10]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing as mp
import os
import re
import time
import uuid
from typing import Any

import uvloop

from bench.realtime_fanout import NS, WireClient, _free_port, _spawn, _wait_line

OPTIONS = ("o1", "o2", "o3", "o4")
SAMPLED_PER_PROC = 100
TOTAL = re.compile(rb'"total_votes": ?(\d+)')


class PollClient(WireClient):
    def __init__(self, port: int, token: str, sampled: bool) -> None:
        super().__init__(port, token)
        self.sampled = sampled
        self.started = False
        self.updates: list[tuple[float, int]] = []  # (received at, total_votes), sampled viewers only
        self.last_total = 0
        self.vote: tuple[float, float, bool, int, str] | None = None  # (sent, acked, ok, total after, code)
        self._sent_at = 0.0

    def send_vote(self, poll_id: str, option: str) -> None:
        self._sent_at = time.time()
        self.send_text(f"42{NS},1" + json.dumps(["poll_vote", {"poll_id": poll_id, "option_id": option}]))

    def on_text(self, p: bytes) -> None:
        if self.joined is not None and not self.joined.done():
            super().on_text(p)
            return
        if p == b"2":
            self.send_text("3")
        elif p.startswith(b'42/live-stream,["poll_results_update"'):
            m = TOTAL.search(p)
            if m:
                total = int(m.group(1))
                self.last_total = max(self.last_total, total)
                if self.sampled:
                    self.updates.append((time.time(), total))
        elif p.startswith(b'42/live-stream,["poll_started"'):
            self.started = True
        elif p.startswith(b"43/live-stream,1"):
            now = time.time()
            ack = json.loads(p[len(b"43/live-stream,1") :])[0]
            code = "" if ack.get("ok") else str(ack.get("error", {}).get("code"))
            self.vote = (self._sent_at, now, bool(ack.get("ok")), int(ack.get("total_votes") or 0), code)


def viewer_proc(port: int, tokens: list[str], stream_id: str, ctl: Any, out: Any, window: float) -> None:
    async def main() -> None:
        every = max(1, len(tokens) // SAMPLED_PER_PROC)
        clients = [PollClient(port, t, sampled=i % every == 0) for i, t in enumerate(tokens)]

        async def connect(i: int) -> PollClient | None:
            for _ in range(3):  # a loaded machine may drop a handshake: try again with a fresh socket
                c = clients[i]
                try:
                    await c.connect(stream_id)
                    return c
                except (ConnectionError, OSError, RuntimeError, TimeoutError):
                    if c.transport is not None:
                        c.transport.close()
                    clients[i] = PollClient(port, c.token or "", c.sampled)
                    await asyncio.sleep(1.0)
            return None

        for i in range(0, len(clients), 50):
            await asyncio.gather(*(connect(j) for j in range(i, min(i + 50, len(clients)))))
        clients = [
            c
            for c in clients
            if c.upgraded and c.joined is not None and c.joined.done() and c.joined.exception() is None
        ]
        out.put(("connected", len(clients)))
        poll_id, t0 = await asyncio.get_running_loop().run_in_executor(None, ctl.get)
        out.put(("started", sum(c.started for c in clients)))
        # each viewer votes at its own moment in the window (spread evenly), option by its index
        plan = sorted(
            (
                (t0 + window * ((i * 7919) % len(clients)) / len(clients), c, OPTIONS[i % len(OPTIONS)])
                for i, c in enumerate(clients)
            ),
            key=lambda x: x[0],
        )
        for at, c, option in plan:
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            c.send_vote(poll_id, option)
        deadline = time.time() + 60
        while time.time() < deadline and any(c.vote is None for c in clients):
            await asyncio.sleep(0.05)
        await asyncio.sleep(3.0)  # the last coalesced updates
        out.put(
            (
                "done",
                [c.vote for c in clients],
                [(OPTIONS[i % len(OPTIONS)]) for i in range(len(clients))],
                [c.updates for c in clients if c.sampled],
                [c.last_total for c in clients],
            )
        )
        for c in clients:
            c.transport.close()

    uvloop.run(main())


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * (len(values) - 1)))]


def delivery(accepted: list[tuple[int, float]], viewers: list[list[tuple[float, int]]]) -> list[float]:
    """ms from each accepted vote (total after it, accepted at) to each sampled viewer's first update with it."""
    out: list[float] = []
    for updates in viewers:
        times, totals, best = [], [], 0
        for t, total in updates:
            best = max(best, total)
            times.append(t)
            totals.append(best)
        for k, at in accepted:
            i = bisect.bisect_left(totals, k)
            if i < len(totals):
                out.append((times[i] - at) * 1000)
    return out


def aggregate_totals(settings: Any, poll_id: str) -> dict[str, Any]:
    """The poll as its aggregate has it, loaded from the event store (not through the busy API)."""
    from application.event_store import LiveCommerceStore

    store = LiveCommerceStore(settings.eventsourcing_env(create_tables=False))
    try:
        poll = store.repository.get(uuid.UUID(poll_id))
        accepted, k = [], 0  # (total after the vote, when the aggregate accepted it: the event's timestamp)
        for e in store.events.get(uuid.UUID(poll_id)):
            if type(e).__name__ == "VoteCast" and e.replaces is None:
                k += 1
                accepted.append((k, e.timestamp.timestamp()))
        return {"total_votes": poll.total_votes, "options": poll.results(), "accepted": accepted}
    finally:
        store.close()


def run(viewers: int, procs: int, window: float, fps: float) -> dict[str, Any]:
    import httpx
    import redis

    from bench._env import drop, fresh_settings
    from infra.tokens import issue_token

    port = _free_port()
    settings = fresh_settings(http_port=port, client_queue_limit=1000, fanout_max_fps=fps, rate_limits_enabled=False)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")},
        **{f"LIVECOMMERCE_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None},
    }
    api, api_log = _spawn(["interfaces.cli", "api"], env)
    relay, relay_log = _spawn(["interfaces.cli", "relay"], env)
    workers: list[Any] = []
    try:
        _wait_line(api, api_log, "realtime pusher ready", timeout=240)
        vendor = str(uuid.uuid4())
        base = f"http://127.0.0.1:{port}/api/v1/live-commerce"
        staff = httpx.Client(
            base_url=base,
            timeout=60,
            headers={"Authorization": f"Bearer {issue_token(settings, vendor, ['vendor'], 'Shop', vendor_id=vendor)}"},
        )
        sid = staff.post("/streams", json={"title": "Poll night", "stream_type": "product_demo"}).json()["id"]
        assert staff.post(f"/streams/{sid}/start").status_code == 200
        redis.Redis.from_url(settings.redis_url).hset(f"STREAM_STATUS:{sid}", mapping={"status": "live"})
        tokens = [issue_token(settings, f"voter-{i}", ["viewer"], f"Voter {i}", ttl=3600) for i in range(viewers)]
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        ctls = [ctx.Queue() for _ in range(procs)]
        per = viewers // procs
        workers = [
            ctx.Process(target=viewer_proc, args=(port, tokens[i * per : (i + 1) * per], sid, ctls[i], out, window))
            for i in range(procs)
        ]
        for w in workers:
            w.start()
        connected = sum(out.get(timeout=900)[1] for _ in workers)
        opened = staff.post(
            f"/streams/{sid}/polls",
            json={
                "question": "Which colour next?",
                "question_bn": "পরের শোতে কোন রং?",
                "options": [{"text": o} for o in OPTIONS],
                "duration_seconds": 600,
            },
        )
        assert opened.status_code == 201, opened.text
        poll_id = opened.json()["poll_id"]
        time.sleep(3.0)  # poll_started reaches the room through the log
        t0 = time.time() + 1.0
        for q in ctls:
            q.put((poll_id, t0))
        started = sum(out.get(timeout=60)[1] for _ in workers)
        votes, options, sampled, last = [], [], [], []
        for _ in workers:
            _, v, o, s, lt = out.get(timeout=300)
            votes += v
            options += o
            sampled += s
            last += lt
        for w in workers:
            w.join(30)
        final = aggregate_totals(settings, poll_id)
    finally:
        for w in workers:
            if w.is_alive():
                w.kill()
        for p in (relay, api):
            p.terminate()
            try:
                p.wait(60)
            except Exception:
                p.kill()
        drop(settings)
    ok = [v for v in votes if v and v[2]]
    refused = [v[4] for v in votes if v and not v[2]]
    sent_counts = {o: 0 for o in OPTIONS}
    for v, o in zip(votes, options, strict=True):
        if v and v[2]:
            sent_counts[o] += 1
    counted = {x["option_id"]: x["votes"] for x in final["options"]}
    acc = [v[1] for v in ok]
    res = {
        "viewers": connected,
        "saw_poll_started": started,
        "votes_sent": len(votes),
        "accepted": len(ok),
        "refused": refused[:5],
        "aggregate_total": final["total_votes"],
        "aggregate_counts": counted,
        "sent_counts": sent_counts,
        "viewers_with_final_total": sum(t == final["total_votes"] for t in last),
        "vote_span_s": (max(acc) - min(acc)) if acc else float("nan"),
        "ack_ms": [(v[1] - v[0]) * 1000 for v in ok],
        "delivery_ms": delivery(final["accepted"], sampled),
        "delivery_from_ack_ms": delivery(sorted((v[3], v[1]) for v in ok), sampled),
        "delivery_from_send_ms": delivery(sorted((v[3], v[0]) for v in ok), sampled),
        "sampled_viewers": len(sampled),
    }
    # every vote sent is in the aggregate once: one VoteCast per voter, the totals equal what was sent (a vote
    # whose ack had not come back within a minute is still counted if the aggregate holds it)
    res["exactly_once"] = res["aggregate_total"] == len(votes) == len(final["accepted"]) and counted == {
        o: sum(1 for x in options if x == o) for o in OPTIONS
    }
    res["acks_missing"] = sum(1 for v in votes if v is None)
    return res


def report(r: dict[str, Any]) -> None:
    d, ds, a, dk = r["delivery_ms"], r["delivery_from_send_ms"], r["ack_ms"], r["delivery_from_ack_ms"]
    print(
        f"poll: {r['viewers']} viewers connected, {r['saw_poll_started']} saw poll_started; "
        f"{r['votes_sent']} votes sent, {r['accepted']} acks ok over {r['vote_span_s']:.1f} s, "
        f"{r['acks_missing']} acks not back within 60 s (refusals: {r['refused']})"
    )
    print(
        f"poll: aggregate total_votes={r['aggregate_total']} counts={r['aggregate_counts']} "
        f"(sent {r['sent_counts']}); exactly once: {r['exactly_once']}; viewers whose last update showed the "
        f"final total: {r['viewers_with_final_total']}/{r['viewers']}"
    )
    print(
        f"poll_results_update delivery, aggregate's acceptance (VoteCast timestamp) → viewer "
        f"({len(d)} vote×viewer pairs, "
        f"{r['sampled_viewers']} sampled viewers): p50={pct(d, 50):.0f} ms p99={pct(d, 99):.0f} ms "
        f"max={max(d) if d else float('nan'):.0f} ms"
    )
    print(
        f"  from the voter's ack instead: p50={pct(dk, 50):.0f} ms p99={pct(dk, 99):.0f} ms; "
        f"from the vote's send: p50={pct(ds, 50):.0f} ms p99={pct(ds, 99):.0f} ms; "
        f"vote ack (send → ack): p50={pct(a, 50):.0f} ms p99={pct(a, 99):.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=5000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--fps", type=float, default=10.0)
    a = ap.parse_args()
    report(run(a.viewers, a.procs, a.window, a.fps))


if __name__ == "__main__":
    main()

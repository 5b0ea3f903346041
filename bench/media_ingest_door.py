"""Benchmark: what the RTMP front door (``livecommerce ingest``) costs per publisher.

N publishers (``ffmpeg -re -c copy`` of a 10 s 720p30 H.264 4 Mbit/s + AAC source, the bytes a phone app sends)
publish at the same time through one in-process ``IngestDoor``; each show's "worker" is a stand-in process
that accepts the relay and discards the FLV, so only the door's own work is measured: the CPU seconds of
this process (RTMP parsing, FLV tagging, relaying) per second of wall time, per publisher, for N = 1, 2, 4.
The real worker's cost is ``bench/media_ladder.py``. Run: ``python bench/media_ingest_door.py``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.events import CollectingSink  # noqa: E402
from media.ingest import RtmpListen, StaticStreamKeys  # noqa: E402
from media.ingest_door import PORT_LINE, IngestDoor  # noqa: E402

SECONDS = 10


def make_source(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            str(SECONDS),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "4M",
            "-maxrate",
            "4M",
            "-bufsize",
            "8M",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(path),
        ],
        check=True,
    )


async def discarding_worker() -> None:
    """Stand-in worker: the relay handshake, then read and drop frames until the publisher ends."""
    token = sys.stdin.readline().strip()
    done = asyncio.Event()

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        hello = json.loads(await r.readline())
        w.write(b"OK\n" if hello["token"] == token else b"NO bad_token\n")
        await w.drain()
        try:
            while True:
                head = await r.readexactly(5)
                await r.readexactly(int.from_bytes(head[1:], "big"))
                if head[:1] == b"E":
                    break
        except asyncio.IncompleteReadError:
            pass
        w.close()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(f"{PORT_LINE}{server.sockets[0].getsockname()[1]}", flush=True)
    await done.wait()


def cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def run(n: int, src: Path) -> tuple[float, float]:
    keys = {f"key-{i}": f"show-{i}" for i in range(n)}
    door = IngestDoor(
        listen=RtmpListen("127.0.0.1", 0),
        keys=StaticStreamKeys(keys),
        sink=CollectingSink(),
        worker_command=lambda sid: [sys.executable, __file__, "--discarding-worker"],
    )
    await door.start()
    cpu0, t0 = cpu_s(), time.monotonic()
    pubs = [
        await asyncio.create_subprocess_exec(
            "ffmpeg",
            "-v",
            "error",
            "-re",
            "-i",
            str(src),
            "-c",
            "copy",
            "-f",
            "flv",
            f"rtmp://127.0.0.1:{door.port}/live/{k}",
        )
        for k in keys
    ]
    codes = [await p.wait() for p in pubs]
    wall, cpu = time.monotonic() - t0, cpu_s() - cpu0
    await door.close()
    assert codes == [0] * n, codes
    return cpu, wall


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.mp4"
        make_source(src)
        mbit = src.stat().st_size * 8 / SECONDS / 1e6
        print(f"source: {SECONDS} s 720p30, {mbit:.2f} Mbit/s (video + audio)")
        for n in (1, 2, 4):
            cpu, wall = await run(n, src)
            print(
                f"{n} publisher(s): door CPU {cpu:.2f} s over {wall:.1f} s wall = {100 * cpu / wall:.1f}% of a"
                f" core; {100 * cpu / wall / n:.1f}% per publisher ({100 * cpu / wall / n / mbit:.1f}% per Mbit/s)"
            )


if __name__ == "__main__":
    if sys.argv[1:] == ["--discarding-worker"]:
        asyncio.run(discarding_worker())
    else:
        asyncio.run(main())

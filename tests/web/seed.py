"""A show worth looking at, made over the documented HTTP API (admin client): a vendor with catalogue products,
a host with a verified profile, a live show with products and a featured one, an RTMP publish from ffmpeg, and
a flash sale. Used by the browser tests, the screenshots and ``bench/web_first_load.py``."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

P = "/api/v1/live-commerce"
PRODUCTS = [
    ("Jamdani saree", "জামদানি শাড়ি", 4500.0, 25),
    ("Nakshi kantha", "নকশি কাঁথা", 2499.5, 10),
    ("Rajshahi silk panjabi", "রাজশাহী সিল্ক পাঞ্জাবি", 3200.0, 8),
]


@dataclass
class Seeded:
    stream_id: str
    vendor_id: str
    host_user: str
    host_profile: str
    products: list[str]
    live: dict[str, Any]
    sale_id: str | None = None
    publisher: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()  # type: ignore[no-any-return]


def client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url + P, timeout=30, headers={"Authorization": f"Bearer {token}"})


def seed_show(
    base_url: str,
    token: Callable[..., str],
    *,
    title: str = "Eid saree live",
    title_bn: str = "ঈদ শাড়ি লাইভ",
    category: str = "fashion",
    start: bool = True,
    host_name: str = "Nusrat Jahan",
) -> Seeded:
    """``token(role, user, vendor)`` signs a bearer token (the test settings' secret)."""
    http = client(base_url, token("admin"))
    vendor = str(uuid.uuid4())
    _ok(http.put("/catalog/vendors", json={"vendors": [{"id": vendor, "name": "Aarong", "name_bn": "আড়ং"}]}))
    pids = [str(uuid.uuid4()) for _ in PRODUCTS]
    _ok(
        http.put(
            "/catalog/products",
            json={
                "products": [
                    {
                        "id": pid,
                        "vendor_id": vendor,
                        "name": n,
                        "name_bn": nb,
                        "list_price": round(price * 1.25, 2),
                        "stock": 100,
                        "category": category,
                    }
                    for pid, (n, nb, price, _) in zip(pids, PRODUCTS, strict=True)
                ]
            },
        )
    )
    host_user = str(uuid.uuid4())
    host = client(base_url, token("host", host_user, vendor))
    profile = _ok(host.post("/hosts/apply", json={"host_name": host_name, "languages": ["bn", "en"]}))["id"]
    _ok(http.post(f"/hosts/{profile}/verify"))
    created = _ok(
        host.post(
            "/streams",
            json={
                "title": title,
                "title_bn": title_bn,
                "stream_type": "product_demo",
                "category": category,
                "language": "bn",
                "vendor_id": vendor,
                "products": [
                    {
                        "product_id": pid,
                        "special_price": price,
                        "limited_quantity": qty,
                        "display_order": i,
                        "discount_percentage": 20,
                    }
                    for i, (pid, (_, _, price, qty)) in enumerate(zip(pids, PRODUCTS, strict=True))
                ],
            },
        )
    )
    sid = str(created["id"])
    seeded = Seeded(sid, vendor, host_user, str(profile), pids, {})
    if start:
        seeded.live = _ok(host.post(f"/streams/{sid}/start"))
        _ok(host.post(f"/streams/{sid}/feature", json={"product_id": pids[0]}))
    return seeded


def publish(seeded: Seeded, seconds: int = 120) -> subprocess.Popen[bytes]:
    """The host's encoder: ffmpeg sending a test picture and tone over RTMP, paced as live."""
    url = f"{seeded.live['rtmp_url']}/{seeded.live['stream_key']}"
    seeded.publisher = subprocess.Popen(
        [
            "ffmpeg",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-f",
            "flv",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return seeded.publisher


def wait_for_video(base_url: str, stream_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{base_url}/hls/{stream_id}/master.m3u8", timeout=10)
        if r.status_code == 200 and "#EXT-X-STREAM-INF" in r.text:
            return
        time.sleep(0.5)
    raise AssertionError(f"no HLS master playlist for {stream_id} within {timeout}s")


def flash_sale(
    base_url: str, token: Callable[..., str], seeded: Seeded, *, quantity: int = 5, seconds: int = 600
) -> str:
    http = client(base_url, token("host", seeded.host_user, seeded.vendor_id))
    sale = _ok(
        http.post(
            "/flash-sales",
            json={
                "stream_id": seeded.stream_id,
                "product_id": seeded.products[1],
                "flash_price": 1999.0,
                "available_quantity": quantity,
                "duration_seconds": seconds,
                "announcement_message": "Kantha flash sale!",
                "max_per_buyer": 2,
            },
        )
    )
    seeded.sale_id = str(sale["id"])
    return seeded.sale_id

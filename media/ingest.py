"""Where video comes from: a file/URL (tests, pre-recorded shows) or an RTMP publish from the host's app.

Both hand the transcoder an opened PyAV container plus a checked ``SourceInfo``. Anything we cannot use
becomes a named error (``errors.py``) instead of an FFmpeg traceback. RTMP goes through ``RtmpGate`` for the
stream-key check, then FFmpeg's own listen mode on a private port; after a dropped connection the source
waits a grace period for the host to come back, so a phone switching cells does not end the show.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol
from urllib.parse import urlparse

import av
from av.container import InputContainer

from media.errors import CorruptMedia, SourceUnavailable, UnsupportedMedia
from media.rtmp_gate import RefusedCallback, RtmpGate

# Codecs a phone app, OBS or a pre-recorded upload plausibly sends. Anything else is refused by name
# rather than decoded on a best-effort basis at the expense of the live encode.
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video"})
AUDIO_CODECS = frozenset({"aac", "mp3", "mp2", "opus", "vorbis", "ac3", "eac3", "flac", "pcm_s16le"})


class StreamKeys(Protocol):
    """Port: which show a stream key opens. The integrator backs it with the PostgreSQL read model."""

    async def lookup(self, key: str) -> str | None: ...


class StaticStreamKeys:
    """A fixed key -> stream id map, for tests, the bench and local runs."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._keys = dict(keys)

    async def lookup(self, key: str) -> str | None:
        return self._keys.get(key)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    kind: str  # "file" | "rtmp"
    url: str
    video_codec: str
    width: int
    height: int
    fps: float
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    remote: str | None = None

    def payload(self) -> dict[str, object]:
        return {
            "source": self.kind,
            "remote": self.remote,
            "video": {"codec": self.video_codec, "width": self.width, "height": self.height, "fps": round(self.fps, 3)},
            "audio": None
            if self.audio_codec is None
            else {"codec": self.audio_codec, "sample_rate": self.sample_rate, "channels": self.channels},
        }


@dataclass(slots=True)
class Opened:
    container: InputContainer
    info: SourceInfo
    live: bool  # frames arrive at the show's pace (RTMP, a live URL, a paced file): lag is watched
    pace: bool = False  # we must hold frames back to real time ourselves (a pre-recorded show going live)


def describe(container: InputContainer, kind: str, url: str, remote: str | None = None) -> SourceInfo:
    if not container.streams.video:
        raise UnsupportedMedia(f"{url}: no video stream")
    v = container.streams.video[0]
    name = v.codec_context.name if v.codec_context is not None else "unknown"
    if name not in VIDEO_CODECS:
        raise UnsupportedMedia(f"{url}: video codec {name!r} is not accepted (use H.264)")
    if not v.codec_context.width or not v.codec_context.height:
        raise CorruptMedia(f"{url}: video stream has no picture size")
    rate = v.average_rate or v.guessed_rate or v.base_rate or Fraction(30)
    fps = float(rate) if 1 <= float(rate) <= 240 else 30.0
    audio = container.streams.audio[0] if container.streams.audio else None
    if audio is not None:
        aname = audio.codec_context.name if audio.codec_context is not None else "unknown"
        if aname not in AUDIO_CODECS:
            raise UnsupportedMedia(f"{url}: audio codec {aname!r} is not accepted (use AAC)")
    return SourceInfo(
        kind=kind,
        url=url,
        video_codec=name,
        width=v.codec_context.width,
        height=v.codec_context.height,
        fps=fps,
        audio_codec=audio.codec_context.name if audio else None,
        sample_rate=audio.codec_context.sample_rate if audio else None,
        channels=audio.codec_context.channels if audio else None,
        remote=remote,
    )


def open_container(url: str, *, timeout_s: float, options: dict[str, str] | None = None) -> InputContainer:
    try:
        return av.open(url, options=options or {}, timeout=(timeout_s, timeout_s))
    except FileNotFoundError as exc:
        raise SourceUnavailable(f"{url}: no such file") from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise CorruptMedia(f"{url}: not a readable media file ({exc.strerror or exc})") from exc
    except av.error.FFmpegError as exc:
        raise SourceUnavailable(f"{url}: cannot open ({exc.strerror or exc})") from exc


_LIVE_SCHEMES = frozenset({"rtmp", "rtmps", "rtsp", "srt", "udp", "rtp"})


class FileSource:
    """One input: a file read as fast as we can encode (or at the show's pace with ``pace=True``), or a
    URL; a streaming URL (``rtmp://``, ``srt://`` ...) pulled from elsewhere arrives live by itself."""

    def __init__(self, url: str | os.PathLike[str], *, pace: bool = False, open_timeout_s: float = 15.0) -> None:
        self.url, self.pace, self.open_timeout_s = str(url), pace, open_timeout_s
        scheme = urlparse(self.url).scheme.lower()
        self.is_live_url = scheme in _LIVE_SCHEMES
        self.kind = "file" if len(scheme) <= 1 or scheme == "file" else "url"  # 1 letter: a Windows drive

    def next_input(self, first: bool, stop: threading.Event) -> Opened | None:
        if not first:
            return None
        container = open_container(self.url, timeout_s=self.open_timeout_s)
        try:
            info = describe(container, self.kind, self.url)
        except Exception:
            container.close()
            raise
        return Opened(container, info, live=self.pace or self.is_live_url, pace=self.pace)

    def ended_cleanly(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class RtmpListen:
    """Where hosts publish: ``rtmp://host:port/app/{stream key}``."""

    host: str = "0.0.0.0"
    port: int = 1935
    app: str = "live"

    @classmethod
    def from_url(cls, url: str, *, bind_host: str | None = None) -> RtmpListen:
        u = urlparse(url)
        return cls(host=bind_host or u.hostname or "0.0.0.0", port=u.port or 1935, app=(u.path.strip("/") or "live"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtmpSource:
    """Publishes come through the gate; FFmpeg listens on a private port, one publisher at a time."""

    kind = "rtmp"

    def __init__(
        self,
        listen: RtmpListen,
        *,
        stream_id: str,
        keys: StreamKeys,
        on_refused: RefusedCallback,
        publish_timeout_s: float | None = None,
        reconnect_grace_s: float = 10.0,
        read_timeout_s: float = 10.0,
    ) -> None:
        self.listen, self.stream_id = listen, stream_id
        self.publish_timeout_s, self.reconnect_grace_s = publish_timeout_s, reconnect_grace_s
        self.read_timeout_s = read_timeout_s
        self.backend_port = _free_port()
        self.gate = RtmpGate(
            host=listen.host,
            port=listen.port,
            stream_id=stream_id,
            backend_port=self.backend_port,
            lookup=keys.lookup,
            on_refused=on_refused,
        )

    async def start(self) -> None:
        await self.gate.start()

    async def close(self) -> None:
        await self.gate.close()

    @property
    def port(self) -> int:
        return self.gate.port

    def next_input(self, first: bool, stop: threading.Event) -> Opened | None:
        """Block until an accepted publisher's stream is open; None when the wait is over."""
        wait = self.publish_timeout_s if first else self.reconnect_grace_s
        deadline = None if wait is None else time.monotonic() + wait
        url = f"rtmp://127.0.0.1:{self.backend_port}/{self.listen.app}/{self.stream_id}"
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if first:
                    raise SourceUnavailable(f"no accepted RTMP publish within {wait:.0f} s")
                return None
            # Listen in short rounds so a stop request or the deadline is noticed promptly.
            round_s = 2 if left is None else max(1, min(2, math.ceil(left)))
            try:
                container = av.open(
                    url,
                    options={"listen": "1", "timeout": str(round_s), "analyzeduration": "1000000"},
                    timeout=(round_s + 15.0, self.read_timeout_s),
                )
            except av.error.FFmpegError:
                continue  # nobody came, or the gate refused the publisher: listen again
            session = self.gate.session
            if session is None or not session.authorized or session.ended.is_set():
                container.close()
                continue
            try:
                info = describe(
                    container,
                    self.kind,
                    f"rtmp://{self.listen.host}:{self.port}/{self.listen.app}/<key {session.key_hint}>",
                    remote=session.remote,
                )
            except Exception:
                container.close()
                raise
            return Opened(container, info, live=True)
        return None

    def ended_cleanly(self) -> bool:
        session = self.gate.session
        return bool(session and session.clean_end)

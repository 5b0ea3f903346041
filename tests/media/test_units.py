"""Fast checks of what decides timing and safety: timeline, segment assembly, playlists, RTMP sniffing."""

from __future__ import annotations

import random
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from media.hls import MediaPlaylist, Segment
from media.ladder import h264_level
from media.playlists import read_playlist
from media.rtmp_chunks import HANDSHAKE_BYTES, ChunkSniffer, RtmpProtocolError
from media.segmenter import TICKS, Cut, PacketRecord, SegmentAssembler
from media.timeline import Timeline

NOW = datetime(2025, 1, 1, tzinfo=UTC)


# --- timeline -------------------------------------------------------------------------------------------
def test_cuts_fall_on_an_exact_two_second_grid() -> None:
    tl = Timeline(segment_seconds=2, fps=30)
    placed = [tl.video(i / 30) for i in range(181)]
    cuts = [p[0] / TICKS for p in placed if p and p[1]]
    assert cuts == [0.0, 2.0, 4.0, 6.0] and tl.cut_index == 3


def test_ntsc_rates_cut_at_the_first_frame_past_the_boundary() -> None:
    tl = Timeline(segment_seconds=2, fps=30000 / 1001)
    cuts = [p[0] for i in range(130) if (p := tl.video(i * 1001 / 30000)) and p[1]]
    assert cuts == [0, 180_180, 360_360]  # frame 60 at 2.002 s, frame 120 at 4.004 s


def test_sixty_fps_is_halved_and_time_going_backwards_is_skipped() -> None:
    tl = Timeline(segment_seconds=2, fps=30)
    kept = [tl.video(i / 60) for i in range(120)]
    assert sum(1 for k in kept if k) == 60 and tl.skipped == 60
    assert tl.video(0.5) is None


def test_a_reconnect_continues_the_clock_and_opens_a_segment() -> None:
    tl = Timeline(segment_seconds=2, fps=30)
    for i in range(75):  # 2.5 s
        tl.video(100 + i / 30)
    tl.begin_input()
    assert tl.video(7.0) == (75 * 3000, True)  # the new input's own clock starts anywhere
    assert tl.cut_index == 2
    assert tl.video(7.0 + 2.0) == (75 * 3000 + 2 * TICKS, True)


# --- segment assembly -----------------------------------------------------------------------------------
def _v(t: int, key: bool = False) -> PacketRecord:
    return PacketRecord("v", t, t, b"v", key)


def _a(t: int) -> PacketRecord:
    return PacketRecord("a", t, t, b"a", True)


def test_a_segment_waits_for_its_audio_then_takes_late_audio_in() -> None:
    asm = SegmentAssembler(has_video=True, has_audio=True)
    asm.add_packet(_a(-1920))  # AAC priming, before the first cut: kept for segment 0
    asm.add_cut(Cut(0, 0, NOW, 0.0))
    asm.add_packet(_v(0, True))
    asm.add_cut(Cut(1, 2 * TICKS, NOW, 0.0))
    asm.add_packet(_v(2 * TICKS, True))
    assert asm.ready() == []  # audio has not reached 2 s yet
    asm.add_packet(_a(2 * TICKS - 100))  # late, but still for segment 0
    assert asm.ready() == []
    asm.add_packet(_a(2 * TICKS + 50))
    [seg] = asm.ready()
    assert seg.cut.index == 0 and seg.duration == 2.0
    assert [(p.kind, p.pts) for p in seg.packets] == [("a", -1920), ("v", 0), ("a", 2 * TICKS - 100)]
    asm.add_packet(_a(100))  # too late: segment 0 is written
    assert asm.late_packets == 1
    [last] = asm.finish(3 * TICKS)
    assert last.cut.index == 1 and last.duration == 1.0 and len(last.packets) == 2


def test_stalled_audio_does_not_stall_the_segments() -> None:
    asm = SegmentAssembler(has_video=True, has_audio=True, audio_grace=TICKS)
    for k in range(3):
        asm.add_cut(Cut(k, k * 2 * TICKS, NOW, 0.0))
        asm.add_packet(_v(k * 2 * TICKS, True))
    assert [s.cut.index for s in asm.ready()] == [0]  # video is 2 s past segment 0's end: close it


# --- playlists ------------------------------------------------------------------------------------------
def test_live_window_slides_and_the_vod_keeps_everything(tmp_path: Path) -> None:
    pl = MediaPlaylist(tmp_path, segment_seconds=2, window=3)
    for i in range(5):
        pl.add(Segment(i, f"{i:06d}.ts", 2.0, 1000, NOW))
    live = read_playlist((tmp_path / "index.m3u8").read_text())
    assert [s["uri"] for s in live["segments"]] == ["000002.ts", "000003.ts", "000004.ts"]
    assert live["tags"]["#EXT-X-MEDIA-SEQUENCE"] == "2" and "#EXT-X-ENDLIST" not in live["tags"]
    pl.end()
    vod = read_playlist((tmp_path / "recording.m3u8").read_text())
    assert len(vod["segments"]) == 5 and vod["tags"]["#EXT-X-PLAYLIST-TYPE"] == "VOD"
    assert "#EXT-X-ENDLIST" in read_playlist((tmp_path / "index.m3u8").read_text())["tags"]


def test_h264_levels_fit_the_picture() -> None:
    assert (h264_level(426, 240, 30, 165), h264_level(640, 360, 30, 400)) == ("2.1", "3.0")
    assert (h264_level(854, 480, 30, 825), h264_level(1280, 720, 30, 1980)) == ("3.1", "3.1")


# --- RTMP sniffing --------------------------------------------------------------------------------------
def amf_string(s: str) -> bytes:
    return b"\x02" + struct.pack(">H", len(s)) + s.encode()


def amf_number(n: float) -> bytes:
    return b"\x00" + struct.pack(">d", n)


def amf_object(d: dict[str, str]) -> bytes:
    body = b"".join(struct.pack(">H", len(k)) + k.encode() + amf_string(v) for k, v in d.items())
    return b"\x03" + body + b"\x00\x00\x09"


def message(csid: int, mtype: int, payload: bytes, chunk: int, *, ts: int = 0) -> bytes:
    ext = ts >= 0xFFFFFF
    header = bytes([csid]) + (0xFFFFFF if ext else ts).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
    header += bytes([mtype]) + (1).to_bytes(4, "little") + (ts.to_bytes(4, "big") if ext else b"")
    out = bytearray(header + payload[:chunk])
    for i in range(chunk, len(payload), chunk):  # continuation chunks: format 3 headers
        out += bytes([0xC0 | csid]) + (ts.to_bytes(4, "big") if ext else b"") + payload[i : i + chunk]
    return bytes(out)


def publisher_bytes(key: str) -> tuple[bytes, int]:
    """A client's side of an RTMP publish, and the offset just after its publish command."""
    stream = bytes(random.Random(1).randrange(256) for _ in range(HANDSHAKE_BYTES))
    stream += message(2, 1, struct.pack(">I", 4096), 128)  # set chunk size
    connect = amf_string("connect") + amf_number(1) + amf_object({"app": "live", "tcUrl": "rtmp://x/l" * 30})
    stream += message(3, 20, connect, 4096, ts=0x1000000)
    publish = amf_string("publish") + amf_number(5) + b"\x05" + amf_string(key) + amf_string("live")
    stream += message(8, 20, publish, 4096)
    return stream, len(stream)


def test_the_sniffer_finds_the_stream_key_however_the_bytes_are_split() -> None:
    stream, end = publisher_bytes("sk-123?token=abc")
    rng = random.Random(3)
    sniffer, commands, i = ChunkSniffer(), [], 0
    while i < len(stream):
        n = rng.randint(1, 300)
        commands += sniffer.feed(stream[i : i + n])
        i += n
    assert [c.name for c in commands] == ["connect", "publish"]
    assert commands[1].args == (5.0, None, "sk-123?token=abc", "live") and commands[1].end == end
    assert commands[0].args[1] == {"app": "live", "tcUrl": "rtmp://x/l" * 30}


def test_media_before_an_accepted_publish_is_a_protocol_error() -> None:
    stream, _ = publisher_bytes("k")
    sniffer = ChunkSniffer()
    sniffer.feed(stream)
    with pytest.raises(RtmpProtocolError):
        sniffer.feed(message(4, 9, b"\x17\x01" + b"\x00" * 50, 4096))
    allowed = ChunkSniffer()
    allowed.feed(stream)
    allowed.media_allowed = True
    assert allowed.feed(message(4, 9, b"\x17\x01" + b"\x00" * 5000, 4096)) == []


TRICKY_VOD = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-PLAYLIST-TYPE:VOD

# a comment line and blank lines between tags
#EXT-X-PROGRAM-DATE-TIME:2026-03-18T01:00:00.000+06:00
#EXTINF:2.000,first take
000041.ts
#EXTINF:1.5,
000042.ts
#EXT-X-DISCONTINUITY
#EXTINF:2.000,
000043.ts
#EXT-X-PROGRAM-DATE-TIME:2026-03-17T19:07:30.250Z
#EXTINF:2.000,
000044.ts
#EXT-X-ENDLIST
"""


def test_recording_playlists_are_read_with_m3u8_through_breaks_offsets_and_titles(tmp_path: Path) -> None:
    from media.playlists import media_segments
    from media.recording import recording_clock

    segs = media_segments(TRICKY_VOD)
    assert [(s.sequence, s.uri, s.start_s, s.duration, s.discontinuity) for s in segs] == [
        (41, "000041.ts", 0.0, 2.0, False),
        (42, "000042.ts", 2.0, 1.5, False),
        (43, "000043.ts", 3.5, 2.0, True),
        (44, "000044.ts", 5.5, 2.0, False),
    ]
    assert segs[0].pdt == datetime(2026, 3, 17, 19, 0, tzinfo=UTC)  # +06:00 (Dhaka) read as the same instant
    assert segs[1].pdt is None and segs[2].pdt is None
    assert segs[3].pdt == datetime(2026, 3, 17, 19, 7, 30, 250_000, tzinfo=UTC)
    (tmp_path / "recording.m3u8").write_text(TRICKY_VOD)
    # the first segment, then the first after the break that carries a wall-clock time
    assert recording_clock(tmp_path / "recording.m3u8") == [
        {"at_s": 0.0, "program_date_time": "2026-03-17T19:00:00.000Z"},
        {"at_s": 5.5, "program_date_time": "2026-03-17T19:07:30.250Z"},
    ]
    tags = read_playlist(TRICKY_VOD)["tags"]
    assert tags["#EXT-X-MEDIA-SEQUENCE"] == "41" and tags["#EXT-X-PLAYLIST-TYPE"] == "VOD"
    assert "#EXT-X-ENDLIST" in tags
    ranged = TRICKY_VOD.replace("#EXTINF:1.5,\n", "#EXTINF:1.5,\n#EXT-X-BYTERANGE:75232@0\n")
    with pytest.raises(ValueError, match="byte-range"):
        media_segments(ranged)

"""The end of a show: close the live playlists and leave a complete VOD recording behind.

Every segment stays on disk during the show, so the recording is only playlists: per rendition a
``recording.m3u8`` (PLAYLIST-TYPE:VOD, ENDLIST, every segment) and a ``recording.m3u8`` master at the
stream root whose BANDWIDTH values are *measured* peaks, not the targets the live master had to promise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from media.hls import MASTER_PLAYLIST, VOD_PLAYLIST, Variant, format_pdt, render_master, write_atomic
from media.ladder import AUDIO_CODECS, AUDIO_ONLY_NAME, LadderPlan
from media.playlists import media_segments
from media.rendition import RenditionWorker, publish_order


def variants(
    plan: LadderPlan, workers: list[RenditionWorker], *, start_with: str, measured: bool, playlist: str
) -> list[Variant]:
    """Master playlist entries; ``measured`` uses the published segments' peak and average bitrates."""
    by_name = {w.rendition: w for w in workers}
    out: dict[str, Variant] = {}
    audio_only = int((plan.audio_kbps or 0) * 1000 * 1.15)  # PES/TS framing costs ~12 % at 64 kbps
    for r in plan.video:
        peak, avg = plan.declared_bandwidth(r), plan.declared_average(r)
        p = by_name[r.name].published
        if measured and p.seconds > 0:
            avg = int(p.bytes * 8 / p.seconds)
            peak = int(max(p.peak_bps, avg))
        codecs = r.codecs + (f",{AUDIO_CODECS}" if plan.audio_kbps else "")
        out[r.name] = Variant(f"{r.name}/{playlist}", peak, avg, codecs, (r.width, r.height), r.fps)
    if plan.audio_kbps:
        peak = avg = audio_only
        p = by_name[AUDIO_ONLY_NAME].published
        if measured and p.seconds > 0:
            avg = int(p.bytes * 8 / p.seconds)
            peak = int(max(p.peak_bps, avg))
        out[AUDIO_ONLY_NAME] = Variant(f"{AUDIO_ONLY_NAME}/{playlist}", peak, avg, AUDIO_CODECS)
    return [out[n] for n in publish_order(list(out), start_with)]


def write_live_master(out_dir: Path, plan: LadderPlan, workers: list[RenditionWorker], start_with: str) -> None:
    write_atomic(
        out_dir / MASTER_PLAYLIST,
        render_master(variants(plan, workers, start_with=start_with, measured=False, playlist="index.m3u8")),
    )


def finish_recording(
    out_dir: Path, plan: LadderPlan, workers: list[RenditionWorker], *, start_with: str, url_base: str
) -> dict[str, Any]:
    """Write the VOD playlists and return the ``media.recording_ready`` payload."""
    for w in workers:
        w.playlist.end()
    vs = variants(plan, workers, start_with=start_with, measured=True, playlist=VOD_PLAYLIST)
    write_atomic(out_dir / VOD_PLAYLIST, render_master(vs))
    by_name = {w.rendition: w for w in workers}
    sizes = {r.name: (r.width, r.height) for r in plan.video}
    renditions = []
    for v in vs:
        name = v.uri.split("/", 1)[0]
        p = by_name[name].published
        renditions.append(
            {
                "name": name,
                "width": sizes[name][0] if name in sizes else None,
                "height": sizes[name][1] if name in sizes else None,
                "bandwidth": v.bandwidth,
                "average_bandwidth": v.average_bandwidth,
                "codecs": v.codecs,
                "segments": p.segments,
                "bytes": p.bytes,
                "uri": v.uri,
            }
        )
    durations = [w.published.seconds for w in workers if w.published.segments]
    return {
        "duration_s": round(max(durations), 3) if durations else 0.0,
        "total_bytes": sum(w.published.bytes for w in workers),
        "segments": max((w.published.segments for w in workers), default=0),
        "master_uri": VOD_PLAYLIST,
        "master_url": f"{url_base}/{VOD_PLAYLIST}",
        "renditions": renditions,
        "clock": recording_clock(out_dir / vs[0].uri) if vs else [],
    }


def recording_clock(playlist: Path) -> list[dict[str, Any]]:
    """Where the wall clock meets the recording: ``{at_s, program_date_time}`` for its first segment and the first
    after each break (the host reconnected), so a time on the log (a product featured) is placed on the replay."""
    anchors: list[dict[str, Any]] = []
    fresh = True
    for seg in media_segments(playlist.read_text()):
        fresh = fresh or seg.discontinuity
        if fresh and seg.pdt is not None:
            anchors.append({"at_s": round(seg.start_s, 3), "program_date_time": format_pdt(seg.pdt)})
            fresh = False
    return anchors

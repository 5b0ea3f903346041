"""What the media plane tells the rest of the system, as envelopes on the ``media`` topic.

Media telemetry is a fact, not a decision (ARCHITECTURE.md), so it goes straight to Kafka keyed by stream id;
a process manager turns e.g. the first ``segment_published`` into "the stream is live". The type names and
payload fields below are the contract with those consumers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from application.envelope import Envelope, new_interaction
from application.input_rules import cleaned

INGEST_STARTED = "media.ingest_started"  # source, remote, video{codec,width,height,fps}, audio{...}|None,
#                                          renditions[...], master_url, segment_seconds, resumed
INGEST_STOPPED = "media.ingest_stopped"  # reason, duration_s, frames_in, frames_dropped, segments
INGEST_INTERRUPTED = "media.ingest_interrupted"  # reason, at_s, waiting_s (grace for the host to return)
INGEST_FAILED = "media.ingest_failed"  # error (stable code), message, source
INGEST_REFUSED = "media.ingest_refused"  # reason, remote, key_hint (sha-256 prefix, never the key)
SEGMENT_PUBLISHED = "media.segment_published"  # rendition, sequence, duration_s, bytes, uri, url, start_s,
#                                                program_date_time, latency_ms
QUALITY_SAMPLE = "media.quality_sample"  # see media.quality.QualityMeter.sample
RECORDING_READY = "media.recording_ready"  # duration_s, total_bytes, segments, master_uri, master_url,
#                                            renditions[{name,width,height,bandwidth,average_bandwidth,...}],
#                                            clock[{at_s, program_date_time}] (wall clock → recording time)
THUMBNAIL_READY = "media.thumbnail_ready"  # uri, url, width, height, at_s, bytes, sharpness, brightness
HIGHLIGHT_READY = "media.highlight_ready"  # index, rank, start_s, end_s, duration_s, peak_s, score,
#                                            reasons[], featured_product_id, segments{first,last}, uri, url,
#                                            mp4_uri, mp4_url, program_date_time, counts{chat,reactions,...},
#                                            thumbnail_uri, thumbnail_url (the peak's picture)
# Forwarding to other platforms (media.forwarding), per destination; url is redacted (never the stream key).
FORWARD_STARTED = "media.forward_started"  # destination, url, rendition, session, resumed, from_sequence
FORWARD_RETRYING = "media.forward_retrying"  # destination, url, error, attempt, delay_s
FORWARD_FAILED = "media.forward_failed"  # destination, url, error, attempts (gave up: no more tries)
FORWARD_STOPPED = "media.forward_stopped"  # destination, url, reason (show_ended|stopped), connected,
#                                            sessions, seconds, bytes, skipped_s, last_error

ALL_TYPES = (
    INGEST_STARTED,
    INGEST_STOPPED,
    INGEST_INTERRUPTED,
    INGEST_FAILED,
    INGEST_REFUSED,
    SEGMENT_PUBLISHED,
    QUALITY_SAMPLE,
    RECORDING_READY,
    THUMBNAIL_READY,
    HIGHLIGHT_READY,
    FORWARD_STARTED,
    FORWARD_RETRYING,
    FORWARD_FAILED,
    FORWARD_STOPPED,
)


class EventSink(Protocol):
    """Port: where media envelopes go (Kafka in production, a list in tests)."""

    async def publish(self, envelope: Envelope) -> None: ...


def media_event(type_: str, stream_id: str, payload: dict[str, Any], occurred_at: datetime) -> Envelope:
    """Strings a publisher or a library chose (an encoder's error message, a remote address) are cleaned of
    what the stores cannot hold (ADR 0018): the media plane cannot ask its sender to try again."""
    if type_ not in ALL_TYPES:
        raise ValueError(f"unknown media event type {type_!r}")
    return new_interaction(type_, stream_id, cleaned(payload), occurred_at)


class CollectingSink:
    """Keeps every envelope in a list: for unit tests and the benchmark, never for production."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def publish(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def of_type(self, type_: str) -> list[Envelope]:
        return [e for e in self.envelopes if e.type == type_]

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.envelopes]

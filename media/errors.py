"""Named failures of the media plane, each with a stable ``code`` that goes into ``media.ingest_failed``.

A worker never dies with a bare FFmpeg error: whatever goes wrong with the input is one of these, reported
as an event, so the process managers and the host's dashboard can say what happened in plain words.
"""

from __future__ import annotations


class MediaError(Exception):
    code = "media_error"


class IngestFailed(MediaError):
    """The input could not be turned into video at all."""

    code = "ingest_failed"


class SourceUnavailable(IngestFailed):
    """Missing file, unreachable URL, or no publisher arrived in time."""

    code = "source_unavailable"


class CorruptMedia(IngestFailed):
    """The bytes are not a readable container, or no frame could be decoded from them."""

    code = "corrupt_input"


class UnsupportedMedia(IngestFailed):
    """Readable, but not something we accept: no video stream, or a codec outside the allowed set."""

    code = "unsupported_media"


class StreamKeyRefused(MediaError):
    """An RTMP publisher presented a key that does not open this stream."""

    code = "stream_key_refused"

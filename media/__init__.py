"""The media plane: turns a host's live video into HLS that 2G/3G phones can play, and reports what it does.

One worker per live stream (``media.worker.run_media_worker``). It ingests a file/URL or an RTMP publish,
decodes once, encodes an adaptive-bitrate ladder with aligned 2 s GOPs, writes MPEG-TS segments and live
playlists under ``media_root/{stream_id}/``, picks thumbnails, finishes with a VOD recording, and publishes
``media.*`` envelopes through an ``EventSink`` (Kafka in production).

Only PyAV, numpy and aiokafka are used here; nothing from ``interfaces`` and only ``Settings`` from ``infra``.
"""

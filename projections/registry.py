"""Names of the read models, for ``livecommerce project --only/--rebuild NAME``."""

PROJECTIONS = ("live_streams", "stream_status", "stream_realtime", "flash_sales")

"""Names of the read models, for ``livecommerce project --only/--rebuild NAME``."""

PROJECTIONS = ("live_streams", "stream_status", "stream_realtime", "flash_sales", "orders", "auctions",
               "group_buys", "analytics", "carts",
               # interactions from the realtime gateway (topic "interactions")
               "stream_metrics", "stream_chat", "chat_messages", "stream_engagement",
               # media plane (topic "media")
               "recordings", "stream_quality",
               # hosts, followers and HOST_STATUS; stream moderators
               "hosts", "stream_moderators",
               # gamification (issue 14)
               "polls",
               # the engagement optimizer's minutes, chat themes and suggestions (ADR 0025)
               "engagement")

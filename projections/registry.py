"""Names of the read models, for ``livecommerce project --only/--rebuild NAME``."""

PROJECTIONS = (
    "live_streams",
    "stream_status",
    "stream_realtime",
    "flash_sales",
    "orders",
    "auctions",
    "group_buys",
    "analytics",
    "carts",
    # interactions from the realtime gateway (topic "interactions")
    "stream_metrics",
    "stream_chat",
    "chat_messages",
    "stream_engagement",
    # media plane (topic "media")
    "recordings",
    "stream_quality",
    # hosts, followers and HOST_STATUS; stream moderators
    "hosts",
    "stream_moderators",
    # fraud detection (issue 17 part 1): the detector's signals (it opens FraudCases) and the review queue
    "fraud_signals",
    "fraud_cases",
    # gamification (issue 14)
    "polls",
    # per show, per host and weekly leaderboards in Redis sorted sets (issue 14 part 5)
    "leaderboards",
    # coin wallets, gifts sent, hosts' gift earnings, the gift catalogue (issue 14 part 3)
    "coins",
    # what the recommenders rank from (purchases, carts, intents, shows, follows, watches)
    "recommendations",
    # the engagement optimizer's minutes, chat themes and suggestions (ADR 0025)
    "engagement",
)

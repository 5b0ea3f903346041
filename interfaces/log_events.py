"""Events that reach the log without passing through the event store, for the catalogue (docs/events.md).

The realtime gateway and the media plane publish these; each section names its topic. Kept next to the
interfaces that emit them.
"""

LOG_EVENTS = """## Log-only events (not in the event store)

These are facts about what happened, published straight to Kafka by the realtime gateway (topic
`{prefix}.interactions`) and the media plane (topic `{prefix}.media`), keyed by stream id. Consumers deduplicate
them by envelope `id`. Their payloads are listed in the modules that emit them (`interfaces/realtime/`,
`media/events.py`).

The notifications process publishes its delivery receipts to `{prefix}.notifications`, keyed by stream id
(`infra/notification_delivery.py`, ADR 0008): `Notification.DeliveryAccepted` (payload `delivery_id`,
`notification_id`, `recipient_id`, `kind`, `channel`, `provider`, `provider_message_id`, `attempt`),
`Notification.DeliveryFailed` (the same with the provider's `error`) and `Notification.DeliveryHeld` (with
`held_until`: the end of the person's quiet hours). Their envelope ids derive from delivery, outcome and attempt.
"""

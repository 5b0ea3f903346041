"""``EventSink`` on Kafka: media envelopes to ``{prefix}.media``, keyed by stream id so a show stays ordered.

The producer is created in ``start()`` (never at import or construction), and the worker awaits each send, so
a broker outage shows up as back-pressure on the event queue rather than as lost segments.
"""

from __future__ import annotations

from types import TracebackType

from aiokafka import AIOKafkaProducer

from application.envelope import Envelope
from infra.settings import Settings


class KafkaEventSink:
    def __init__(self, settings: Settings, *, topic: str | None = None) -> None:
        self.topic = topic or settings.topic("media")
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        s = self._settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            linger_ms=s.kafka_linger_ms,
            enable_idempotence=s.kafka_idempotent_producer,
            acks="all",
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, envelope: Envelope) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaEventSink.publish before start()")
        await self._producer.send_and_wait(self.topic, envelope.to_json(), key=envelope.key)

    async def __aenter__(self) -> KafkaEventSink:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

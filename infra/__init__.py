"""Adapters to the outside: PostgreSQL, Kafka, Redis, MongoDB, the dev stack, the composition root."""

"""Business rules: event-sourced aggregates. Imports only the standard library and eventsourcing.domain."""

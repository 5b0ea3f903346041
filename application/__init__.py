"""Use cases: load aggregates, let them decide, save with the expected version. Imports only `domain`."""

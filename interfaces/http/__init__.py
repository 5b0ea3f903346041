"""The HTTP API (Sanic): one blueprint per area, short handlers, one error mapper."""

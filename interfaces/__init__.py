"""Entry points: HTTP and Socket.IO (Sanic), the `livecommerce` command line."""

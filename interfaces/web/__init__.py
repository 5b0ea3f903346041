"""The web app served by the project itself (issue 15): the viewer app, the sign-in page and their static files.

Pages are static HTML shells; everything they show comes from the documented HTTP API and the Socket.IO
``/live-stream`` namespace, called from the browser with the user's bearer token (``docs/api.md``). The host
studio and the admin console (``interfaces/web/studio.py``) use the same files (``static/common/``) and the
same ``page()``.
"""

from interfaces.web.pages import bp, page

__all__ = ["bp", "page"]

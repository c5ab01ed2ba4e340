"""The nb2feast Jupyter server extension: the `/nb2feast/` endpoints the Features panel calls."""

from __future__ import annotations

from jupyter_server.serverapp import ServerApp

from nb2feast.server.routes import setup_route_handlers


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Register the endpoints; called by jupyter_server at startup."""
    setup_route_handlers(serverapp.web_app)
    serverapp.log.info("nb2feast: registered /nb2feast/ endpoints")

"""The `/nb2feast/` route table: one small authenticated handler per endpoint."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from nb2feast.errors import UserError
from nb2feast.server import core

RUNNING_KEY = "nb2feast.running"

Verb = Callable[..., Awaitable[None]]


async def off_loop(work: Callable[..., Any], *args: Any) -> Any:
    """Run blocking `work` in a worker thread, without the caller's context variables.

    `asyncio.to_thread` would copy them, and with them jupyter_core's per-context event
    loop: nbclient in the thread would then try to reuse the server's running loop.
    """
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(work, *args))


class ApiError(tornado.web.HTTPError):
    """An HTTP error whose body is `{"error": {...}}`, readable in the panel."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(status, error.get("message", ""))
        self.error = error


def json_errors(verb: Verb) -> Verb:
    """Turn refused requests and user errors into 4xx JSON errors instead of 500s."""

    @functools.wraps(verb)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await verb(self, *args, **kwargs)
        except core.RequestError as error:
            raise ApiError(error.status, error.error) from error
        except UserError as error:
            refused = core.RequestError.from_user_error(error, self.root.expanduser().resolve())
            raise ApiError(400, refused.error) from error

    return wrapper


class BaseHandler(APIHandler):
    """Shared by the endpoints: the server root and JSON in, JSON out."""

    @property
    def root(self) -> Path:
        return Path(os.path.expanduser(self.settings["server_root_dir"]))

    def reply(self, body: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=core.to_json))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            body = error.error
        elif isinstance(error, tornado.web.HTTPError):
            body = {"message": error.log_message or self._reason}
        elif error is not None:  # a bug: details go to the server log, not to the client
            body = {
                "message": f"internal error in nb2feast ({type(error).__name__}); "
                "see the server log"
            }
        else:
            body = {"message": self._reason}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": body}, default=core.to_json))


class CellsHandler(BaseHandler):
    """`GET /nb2feast/cells?path=NB`: the notebook's feature cells and their status."""

    @tornado.web.authenticated
    @json_errors
    async def get(self) -> None:
        target = core.locate(self.root, self.get_query_argument("path", ""))
        self.reply(await off_loop(core.cells, target))


class PromoteHandler(BaseHandler):
    """`POST /nb2feast/promote {"path", "cell_id"?}`: export, verify, report."""

    @tornado.web.authenticated
    @json_errors
    async def post(self) -> None:
        body = self.get_json_body() or {}
        if not isinstance(body, dict):
            raise core.RequestError(400, 'the body must be a JSON object like {"path": "nb.ipynb"}')
        path, cell_id = body.get("path") or "", body.get("cell_id")
        if not isinstance(path, str) or not (cell_id is None or isinstance(cell_id, str)):
            raise core.RequestError(
                400, '"path" and "cell_id" must be strings, like {"path": "nb.ipynb"}'
            )
        target = core.locate(self.root, path)
        with self.settings[RUNNING_KEY].claim(target):
            self.reply(await off_loop(core.promote, target, cell_id))


ROUTES: list[tuple[str, type[BaseHandler]]] = [
    ("cells", CellsHandler),
    ("promote", PromoteHandler),
]


def setup_route_handlers(web_app: tornado.web.Application) -> None:
    """Register the route table under `<base_url>/nb2feast/`."""
    web_app.settings.setdefault(RUNNING_KEY, core.Running())
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$", [(url_path_join(base_url, "nb2feast", name), handler) for name, handler in ROUTES]
    )

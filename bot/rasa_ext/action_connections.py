"""Custom action calls reuse their HTTP connections to the action server.

Why not a supported point: ``EndpointConfig.request`` (``rasa.utils.endpoints``) opens a new
``aiohttp.ClientSession``, so a new TCP connection, for every request and closes it afterwards;
``action_endpoint`` in ``endpoints.yml`` only takes a URL and settings, not a client. Every custom
action call (several per turn in a form) paid a connection set-up and tear-down on both servers.

What changes: requests with the same endpoint settings (headers, credentials) from the same event
loop share one session, whose idle connections are kept for less time than the action server's
keep-alive (Sanic closes them after 5 s), so a request does not meet a connection the server is
closing; when it does anyway (the action server restarted), ``action_failures`` retries once. The
JSON body (the whole tracker, at every call) is written with ``ujson`` (a Rasa dependency; the
action server reads it with ``ujson`` too) instead of the standard library's slower encoder. The
sessions are closed when the server stops. Everything else is Rasa's own code path: the same
method, URL, headers, parameters, timeout, error for a status >= 400 and JSON answer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

KEEP_IDLE_S = 3.0  # under Sanic's KEEP_ALIVE_TIMEOUT (5 s), the action server's default

_sessions: dict[tuple, Any] = {}


def _session(endpoint: Any) -> Any:
    """The shared session of this endpoint's settings on the running event loop (headers, basic
    auth and timeout as ``EndpointConfig.session`` sets them)."""
    import aiohttp
    import ujson
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    auth = tuple(sorted(endpoint.basic_auth.items())) if endpoint.basic_auth else None
    key = (id(loop), tuple(sorted((endpoint.headers or {}).items())), auth)
    session = _sessions.get(key)
    if session is None or session.closed or session._loop is not loop:  # a loop's id may be reused
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"]) if auth else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_IDLE_S),
            json_serialize=ujson.dumps,
        )
        _sessions[key] = session
    return session


async def close_sessions(*_: Any) -> None:
    """Closes the shared sessions of the running loop (when the server stops)."""
    loop = asyncio.get_running_loop()
    for key, session in list(_sessions.items()):
        if key[0] == id(loop):
            del _sessions[key]
            await session.close()


def install() -> Callable[[], None]:
    import aiohttp
    from aiohttp import ContentTypeError
    from rasa.core import run
    from rasa.shared.exceptions import FileNotFoundException
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

    original_request, original_configure_app = EndpointConfig.request, run.configure_app

    async def request(self: Any, method: str = "post", subpath: str | None = None,
                      content_type: str | None = "application/json", compress: bool = False,
                      **kwargs: Any) -> Any:
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if "headers" in kwargs:
            headers.update(kwargs.pop("headers"))
        if self.headers:
            headers.update(self.headers)
        sslcontext = None
        if self.cafile:
            try:
                sslcontext = ssl.create_default_context(cafile=self.cafile)
            except FileNotFoundError as error:
                raise FileNotFoundException(f"Failed to find certificate file, '{self.cafile}' does not exist.") \
                    from error
        try:
            async with _session(self).request(method, concat_url(self.url, subpath), headers=headers,
                                              params=self.combine_parameters(kwargs), compress=compress,
                                              ssl=sslcontext, **kwargs) as response:
                if response.status >= 400:
                    raise ClientResponseError(response.status, response.reason, await response.content.read())
                try:
                    return await response.json()
                except ContentTypeError:
                    return None
        except aiohttp.ClientError:
            # Rasa's per-request session awaited its closing here. Without an await on the way out,
            # Python 3.11 gives the error Rasa raises next (``RemoteAction.run``, inside its handler)
            # the wrong context after a retry, and ``action_failures`` reads that context.
            await asyncio.sleep(0)
            raise

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original_configure_app(*args, **kwargs)
        app.register_listener(close_sessions, "after_server_stop")
        return app

    EndpointConfig.request = request
    run.configure_app = configure_app

    def undo() -> None:
        EndpointConfig.request = original_request
        run.configure_app = original_configure_app

    return undo

"""The review web app: FastAPI routes over a :class:`~groundv.review.session.ReviewSession`, one static page.

=======================================  =================================================================
route                                    what
=======================================  =================================================================
``GET /``                                the page (``static/index.html``)
``GET /static/{name}``                   ``app.js`` or ``style.css`` — a fixed list, no path is ever built
``GET /api/config``                      mode, reason codes, the queue's strata, corrupt lines
``GET /api/next?reviewer=&category=``    the reviewer's next sample id (``&source=``, ``&skip=a,b``)
``GET /api/samples/{id}?reviewer=``      one screen: text, category, verdicts, regions, the reviewer's state
``POST /api/samples/{id}/actions``       ``{"reviewer", "action", ...}``: accept, reject, edit, toggle, flag, undo
``GET /api/samples/{id}/region?x=&y=``   the region id under an image point (clicks)
``GET /img/{id}/regions.png``            the regions layer (cached PNG)
``GET /img/{id}/targets.png?reviewer=``  the reviewer's targets layer (cached PNG)
``GET /api/stats``                       acceptance and Cohen's κ per category
=======================================  =================================================================

Files are only ever served from the package's static list or the picture cache, under names the
server makes itself from hashes: a sample id in a URL is looked up in the dataset, never joined to a
path. With a ``token``, every request must carry it (header ``X-Review-Token``, the ``token`` query
parameter of the first page load, which sets an HttpOnly cookie, or that cookie): none gives 401, a
wrong one 403, compared with :func:`secrets.compare_digest`. ``allowed_hosts`` refuses other ``Host``
headers (a web page on another site cannot reach a loopback server through DNS rebinding).
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

from groundv.errors import ConfigError, MissingDependency
from groundv.review.session import ReviewError, ReviewSession

try:
    from fastapi import Body, FastAPI, Request, Response
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.middleware.trustedhost import TrustedHostMiddleware
except ImportError as _exc:  # pragma: no cover - exercised only without the review extra
    raise MissingDependency("fastapi", "groundv review", "review") from _exc

__all__ = ["COOKIE", "LOOPBACK_HOSTS", "TOKEN_HEADER", "create_app", "is_loopback", "serve", "urls"]

TOKEN_HEADER = "X-Review-Token"
COOKIE = "groundv_review_token"
#: Host header names a loopback-bound server answers to
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
_STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
_NO_STORE = {"Cache-Control": "no-store"}


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _static(name: str) -> bytes:
    return resources.files("groundv.review").joinpath("static", name).read_bytes()


def create_app(session: ReviewSession, *, token: str | None = None,
               allowed_hosts: Sequence[str] | None = None, reviewer: str | None = None) -> FastAPI:
    """The app for one session.

    Args:
        session: the dataset being reviewed.
        token: the access token every request must carry (None: no token, for loopback only).
        allowed_hosts: ``Host`` names accepted (None: any).
        reviewer: a fixed reviewer name (the page does not ask for one).
    """
    app = FastAPI(title="groundv review", docs_url=None, redoc_url=None, openapi_url=None)

    if token is not None:
        expected = token.encode("utf-8")

        @app.middleware("http")
        async def require_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            from_query = request.query_params.get("token")
            given = request.headers.get(TOKEN_HEADER) or from_query or request.cookies.get(COOKIE)
            if not given:
                return JSONResponse({"detail": "this review server needs its access token"}, status_code=401)
            if not secrets.compare_digest(given.encode("utf-8"), expected):
                return JSONResponse({"detail": "wrong access token"}, status_code=403)
            response = await call_next(request)
            if from_query:
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response

    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.exception_handler(ReviewError)
    async def refused(_: Request, exc: ReviewError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"), headers=_NO_STORE)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        media = _STATIC.get(name)
        if media is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return Response(_static(name), media_type=media, headers=_NO_STORE)

    @app.get("/api/config")
    def config() -> dict[str, Any]:
        return {**session.config(), "reviewer": reviewer, "token_required": token is not None}

    @app.get("/api/next")
    def next_sample(reviewer: str, category: str = "", source: str = "", skip: str = "") -> dict[str, Any]:
        return session.next(reviewer, category=category, source=source, skip=[s for s in skip.split(",") if s])

    @app.get("/api/samples/{sid}")
    def sample(sid: str, reviewer: str) -> dict[str, Any]:
        return session.view(sid, reviewer)

    @app.post("/api/samples/{sid}/actions")
    def act(sid: str, payload: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008 - FastAPI's idiom
        return session.act(sid, payload.get("reviewer"), payload)  # type: ignore[arg-type]

    @app.get("/api/samples/{sid}/region")
    def region(sid: str, x: float, y: float) -> dict[str, Any]:
        return {"region": session.region_at(sid, x, y)}

    @app.get("/img/{sid}/regions.png")
    def regions_png(sid: str) -> FileResponse:
        return FileResponse(session.regions_png(sid), media_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/img/{sid}/targets.png")
    def targets_png(sid: str, reviewer: str) -> FileResponse:
        # The URL carries the mask's hash (v=...), so a cached copy is never the wrong mask.
        return FileResponse(session.targets_png(sid, reviewer), media_type="image/png",
                            headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/api/stats")
    def stats() -> dict[str, Any]:
        return session.stats()

    return app


def _free_port(host: str) -> int:
    """A port the OS says is free on ``host`` right now (to suggest one that works)."""
    bare = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((bare, 0))
        return int(probe.getsockname()[1])


def _listen(host: str, port: int) -> socket.socket:
    """Bind the server's socket now, so a busy port or a foreign address is an error before any URL is shown."""
    bare = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn does: a port whose last connections are in TIME_WAIT is free; one another server listens on is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bare, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use: another program is listening there",
                              hint=f"choose another --port, e.g. --port {_free_port(host)} (free now)") from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"no permission to listen on port {port}",
                              hint="ports below 1024 need administrator rights: choose a --port of 1024 or more"
                              ) from None
        raise ConfigError(f"cannot listen on {host} port {port}: {exc.strerror or exc}",
                          hint="--host must be an address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None
    return sock


def urls(host: str, port: int, token: str | None = None) -> list[tuple[str, str]]:
    """The URLs to open the app at, each with who can use it (``""`` when anyone who can reach ``host``).

    Bound to every address (``0.0.0.0``, ``::``), the server's own address means nothing to a browser:
    this machine opens it at loopback, other machines at this machine's host name.

    Example:
        >>> urls("127.0.0.1", 8765)
        [('http://127.0.0.1:8765/', '')]
    """
    query = f"?token={token}" if token else ""
    bare = host.strip("[]")
    try:
        wildcard = ipaddress.ip_address(bare).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        here = "[::1]" if ":" in bare else "127.0.0.1"
        return [(f"http://{here}:{port}/{query}", "on this machine"),
                (f"http://{socket.gethostname()}:{port}/{query}", "from other machines")]
    shown = f"[{bare}]" if ":" in bare else host
    return [(f"http://{shown}:{port}/{query}", "")]


def serve(session: ReviewSession, *, host: str = "127.0.0.1", port: int = 8765, reviewer: str | None = None,
          announce: Callable[[str, str], None] = lambda url, who: print(url, who)) -> None:
    """Run the app with uvicorn until interrupted; ``announce`` gets each URL to open (and who can, see :func:`urls`).

    The port is bound before anything is announced. Bound to a loopback address the server answers only to
    loopback host names; bound to any other address it makes a random access token, which the URLs carry.

    Raises:
        MissingDependency: uvicorn is not installed.
        ConfigError: the port is in use or may not be used, or ``host`` is not an address of this machine.
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - exercised only without the review extra
        raise MissingDependency("uvicorn", "groundv review", "review") from None
    local = is_loopback(host)
    token = None if local else secrets.token_urlsafe(24)
    app = create_app(session, token=token, allowed_hosts=LOOPBACK_HOSTS if local else None, reviewer=reviewer)
    with _listen(host, port) as sock:
        for url, who in urls(host, port, token):
            announce(url, who)
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run(sockets=[sock])

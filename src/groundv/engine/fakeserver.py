"""A small fault-injecting chat server on loopback, for tests and benchmarks (no network, no model).

It speaks both wire shapes the engine knows: OpenAI-compatible (``/v1/chat/completions`` and
``/chat/completions``) and Anthropic Messages (``/v1/messages``), over a minimal HTTP/1.1 server written on
asyncio streams (keep-alive, Content-Length bodies) that runs in its own thread — or its own process
with ``python -m groundv.engine.fakeserver``, which the benchmark uses so that the server does not
share the client's interpreter lock.

What it answers is up to the ``answer`` callback (the request body in, the answer text out), so a test
can make it name unknown region ids or return prose. What goes wrong is up to a :class:`FaultPlan`:
``429`` (with Retry-After), ``500``, ``slow`` (answers late), ``hang`` (answers nothing for longer than
the client waits, then drops the connection), ``truncated`` (the answer text cut in half), ``cutoff``
(cut in half with finish reason length / ``max_tokens``) and ``broken`` (the HTTP body itself cut in
half). ``structured`` lists the structured-output forms it accepts, so a test can make it refuse
``json_schema`` (HTTP 400) to exercise the client's fallback. Every request is logged as an
:class:`Exchange`, with the groundv cache key the client sends in ``X-Groundv-Key``, so tests can
assert that a question was never sent again.

Example:
    >>> with FakeServer(lambda body: '{"ok": true}') as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import sys
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Exchange", "FakeServer", "Fault", "FaultPlan"]

_ROUTES = {"/chat/completions": "openai", "/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
FAULT_KINDS = ("429", "500", "slow", "hang", "truncated", "cutoff", "broken")


@dataclass(frozen=True)
class Fault:
    """One thing to do wrong to one request.

    Attributes:
        kind: one of ``429``, ``500``, ``slow``, ``hang``, ``truncated``, ``cutoff``, ``broken``.
        seconds: the delay of ``slow`` and ``hang``; for ``429`` the Retry-After seconds (0: no header).
        retry_after: a raw Retry-After value (e.g. an HTTP-date) that overrides ``seconds`` for ``429``.
    """

    kind: str
    seconds: float = 0.0
    retry_after: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")


class FaultPlan:
    """Which requests get which fault.

    Args:
        faults: a script of faults (a bare kind string means ``Fault(kind)``).
        per_request: if False, the script applies to successive requests in arrival order; if True, to
            successive attempts of each request (by its groundv key): ``["500", "500"]`` then fails every
            question twice before answering it.
    """

    def __init__(self, faults: Iterable[Fault | str] = (), *, per_request: bool = False) -> None:
        self.script = [f if isinstance(f, Fault) else Fault(f) for f in faults]
        self.per_request = per_request
        self._next = 0
        self._seen: collections.Counter[str] = collections.Counter()

    def next(self, key: str) -> Fault | None:
        """The fault for the next request with ``key``, or None."""
        if self.per_request:
            index = self._seen[key]
            self._seen[key] += 1
        else:
            index = self._next
            self._next += 1
        return self.script[index] if index < len(self.script) else None


@dataclass(frozen=True)
class Exchange:
    """One request the server received and what it did.

    Attributes:
        api: ``openai`` or ``anthropic``.
        key: the groundv cache key from the ``X-Groundv-Key`` header ("" when absent).
        body_sha256: the SHA-256 of the raw request body.
        mode: the structured-output form asked for: ``json_schema``, ``json_object``, ``tool`` or ``none``.
        status: the HTTP status returned (0 when it hung up without answering).
        fault: the fault applied, or None.
        body: the parsed request body.
    """

    api: str
    key: str
    body_sha256: str
    mode: str
    status: int
    fault: str | None
    body: dict[str, Any]


def default_answer(body: dict[str, Any]) -> str:
    """The answer when none is given: a small JSON object."""
    return '{"answer": "ok"}'


class FakeServer:
    """A chat server on 127.0.0.1 with a port the OS picks.

    Args:
        answer: the answer text for a request body (default :func:`default_answer`).
        latency: seconds to wait before every reply.
        faults: what to do wrong, and when.
        structured: the structured-output forms accepted (``json_schema``, ``json_object``, ``tool``);
            others get HTTP 400.
        refusal_status: the status of that refusal (llama-cpp-python's server answers 500).
        api_key: when set, requests without this key (Bearer or x-api-key) get HTTP 401.
        keep_bodies: log request bodies (turn off for long benchmarks).
        on_exchange: called with every :class:`Exchange` as it is logged (``--log`` of the process).
    """

    def __init__(self, answer: Callable[[dict[str, Any]], str] | None = None, *, latency: float = 0.0,
                 faults: FaultPlan | None = None,
                 structured: Collection[str] = ("json_schema", "json_object", "tool"), refusal_status: int = 400,
                 api_key: str | None = None, keep_bodies: bool = True, host: str = "127.0.0.1",
                 port: int = 0, on_exchange: Callable[[Exchange], None] | None = None) -> None:
        self.answer = answer or default_answer
        self.on_exchange = on_exchange
        self.latency = latency
        self.faults = faults or FaultPlan()
        self.structured = frozenset(structured)
        self.refusal_status = refusal_status
        self.keep_bodies = keep_bodies
        self.host = host
        self.port = port
        self.log: list[Exchange] = []
        self._api_key = api_key
        self._count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"FakeServer(url={self.url!r}, latency={self.latency})"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic base URL; OpenAI clients may add ``/v1``."""
        return f"http://{self.host}:{self.port}"

    def keys(self) -> list[str]:
        """The groundv keys of every request received, in order."""
        return [e.key for e in self.log]

    # -- running -------------------------------------------------------------------------------------

    async def serve(self) -> asyncio.Server:
        """Start listening on the current event loop (sets :attr:`port`)."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self._server

    def start(self) -> FakeServer:
        """Serve from a background thread; returns once the port is bound."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-chat-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake server did not start")
        return self

    def stop(self) -> None:
        """Stop serving, dropping open connections (hanging requests included)."""
        if self._loop is None or self._thread is None:
            return
        loop, self._loop = self._loop, None

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ----------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _method, path, _version = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                reply = await self._reply(path, headers, body)
                if reply is None:  # hang: hung up without a word
                    return
                writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    @staticmethod
    def _http(status: int, payload: bytes, headers: dict[str, str] | None = None) -> bytes:
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "content-type: application/json",
                f"content-length: {len(payload)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload

    def _error(self, api: str, status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error"}.get(status, "api_error")
        payload = ({"type": "error", "error": {"type": kind, "message": message}} if api == "anthropic"
                   else {"error": {"message": message, "type": kind}})
        return self._http(status, orjson.dumps(payload), headers)

    async def _reply(self, path: str, headers: dict[str, str], raw: bytes) -> bytes | None:
        api = _ROUTES.get(path.rstrip("/"), "openai")
        key = headers.get("x-groundv-key", "")
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            body = {}
        mode = ("tool" if body.get("tools") else "none") if api == "anthropic" else \
            (body.get("response_format") or {}).get("type", "none")

        def log(status: int, fault: str | None = None) -> None:
            exchange = Exchange(api, key, hashlib.sha256(raw).hexdigest(), mode, status, fault,
                                body if self.keep_bodies else {})
            self.log.append(exchange)
            if self.on_exchange is not None:
                self.on_exchange(exchange)

        if path.rstrip("/") not in _ROUTES:
            log(404)
            return self._error(api, 404, f"no route {path}")
        if self._api_key is not None:
            given = headers.get("x-api-key") if api == "anthropic" else \
                headers.get("authorization", "").removeprefix("Bearer ")
            if given != self._api_key:
                log(401)
                return self._error(api, 401, "invalid API key")
        if not body or "messages" not in body:
            log(400)
            return self._error(api, 400, "the body must be JSON with messages")
        if mode != "none" and mode not in self.structured:
            log(self.refusal_status)
            what = "tools" if api == "anthropic" else f"response_format type {mode!r}"
            return self._error(api, self.refusal_status, f"{what} is not supported by this server")
        fault = self.faults.next(key)
        kind = fault.kind if fault else None
        if kind == "hang":
            log(0, kind)
            await asyncio.sleep(fault.seconds or 3600)  # type: ignore[union-attr]
            return None
        delay = self.latency + (fault.seconds if kind == "slow" else 0.0)  # type: ignore[union-attr]
        if delay:
            await asyncio.sleep(delay)
        if kind == "429":
            log(429, kind)
            retry = fault.retry_after or (f"{fault.seconds:g}" if fault.seconds else None)  # type: ignore[union-attr]
            return self._error(api, 429, "rate limited", {"retry-after": retry} if retry else None)
        if kind == "500":
            log(500, kind)
            return self._error(api, 500, "internal error")
        text = self.answer(body)
        cut = kind in ("truncated", "cutoff")
        if cut:
            text = text[: len(text) // 2]
        payload = self._payload(api, body, mode, text, len(raw), length=kind == "cutoff")
        if kind == "broken":
            payload = payload[: len(payload) // 2]
        log(200, kind)
        return self._http(200, payload)

    def _payload(self, api: str, body: dict[str, Any], mode: str, text: str, size: int, *, length: bool) -> bytes:
        self._count += 1
        prompt, completion = max(1, size // 4), max(1, len(text) // 4)
        model = str(body.get("model", "fake"))
        if api == "openai":
            return orjson.dumps({
                "id": f"chatcmpl-{self._count}", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "length" if length else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}})
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        stop = "max_tokens" if length else "end_turn"
        if mode == "tool" and not length:
            try:
                content = [{"type": "tool_use", "id": f"toolu_{self._count}", "name": body["tools"][0]["name"],
                            "input": orjson.loads(text)}]
                stop = "tool_use"
            except orjson.JSONDecodeError:
                pass  # a model that answers prose despite the tool: a text block
        return orjson.dumps({"id": f"msg_{self._count}", "type": "message", "role": "assistant", "model": model,
                             "content": content, "stop_reason": stop,
                             "usage": {"input_tokens": prompt, "output_tokens": completion}})


async def _serve_forever(server: FakeServer) -> None:
    await server.serve()
    print(server.url, flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m groundv.engine.fakeserver [--teacher T] [--log FILE] [--latency S] [--port P]``: serve
    until killed, printing the URL. ``--teacher`` answers as :mod:`groundv.engine.faketeacher` does (a
    whole ``groundv generate --teacher openai`` run then works against it); ``--log`` appends one JSON
    line per request (api, cache key, structured-output mode, status, fault)."""
    from groundv.engine import faketeacher

    teachers = {"correct": faketeacher.correct, "wrong": faketeacher.wrong, "paraphrase": faketeacher.paraphrase,
                "fixed_on_feedback": faketeacher.fixed_on_feedback}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", choices=sorted(teachers),
                        help="answer groundv's plans like this fake teacher (default: a fixed small JSON object)")
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every reply")
    parser.add_argument("--port", type=int, default=0, help="0: let the OS pick (the URL is printed)")
    args = parser.parse_args(argv)
    on_exchange = None
    if args.log is not None:
        log = args.log.open("ab", buffering=0)

        def on_exchange(exchange: Exchange) -> None:
            log.write(orjson.dumps({"api": exchange.api, "key": exchange.key, "mode": exchange.mode,
                                    "status": exchange.status, "fault": exchange.fault}) + b"\n")

    server = FakeServer(teachers.get(args.teacher), latency=args.latency, port=args.port, keep_bodies=False,
                        on_exchange=on_exchange)
    try:
        asyncio.run(_serve_forever(server))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()

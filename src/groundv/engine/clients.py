"""Clients that send one :class:`~groundv.engine.request.ChatRequest` to a provider and parse its answer.

Two wire shapes, spoken over httpx (no provider SDKs):

- ``openai``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, Ollama, …):
  ``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>``; images travel as
  ``image_url`` data URLs.
- ``anthropic``: Claude's Messages API: ``POST {base_url}/v1/messages`` with ``x-api-key`` and
  ``anthropic-version: 2023-06-01``; images travel as base64 ``source`` blocks.

Structured output (a request with a ``schema``) degrades along a chain of modes until the server
accepts one; the first mode that gives an answer is remembered for the client's lifetime and recorded
in :attr:`ChatResponse.mode`:

- openai: ``json_schema`` (``response_format={"type": "json_schema", ...}``, strict when the schema
  forbids additional properties) → ``json_object`` (``{"type": "json_object", "schema": ...}``, which
  llama.cpp's server enforces with a grammar) → ``prompt`` (no ``response_format``).
- anthropic: ``tool`` (a forced tool whose ``input_schema`` is the schema; the answer text is the JSON
  of the tool's input) → ``prompt``.

In ``json_object`` and ``prompt`` modes the schema is also appended to the system prompt, because the
server no longer sees it otherwise (and OpenAI's json_object mode requires the word JSON in the prompt).
A mode is abandoned on HTTP 400/422, or on a 5xx whose message names the field (``response_format``,
``json_schema``, ``tools``: llama-cpp-python's server answers 500 to a ``json_schema`` it does not
know). If every mode is refused, the first refusal's message is raised, so a 400 that had nothing to
do with structured output still reads as the server wrote it.
Requests without a schema are sent plainly and have mode ``text``.

The API key is read once, from the environment variable the caller names; it never appears in a repr,
an error, a log line or on disk.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import os
import re
import sys
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import httpx
import orjson

from groundv.engine.failures import TeacherRefused, Throttled, TransientFailure
from groundv.engine.request import ChatRequest, ChatResponse
from groundv.errors import ConfigError

__all__ = ["AnthropicClient", "ChatClient", "OpenAIClient", "default_key_env", "make_client", "parse_retry_after"]

# The header that carries a request's content key, so that servers (the fake one in tests) can log
# which question was asked without re-deriving the key from a provider-shaped body.
KEY_HEADER = "x-groundv-key"

# httpcore 1.0 runs `import sniffio` for every lock it sets up (several per request). sniffio is optional
# since anyio 4, and a failed import is not cached: each one scans sys.path, ~1 ms of CPU per request.
# Recording its absence makes those imports fail at once, exactly as they would anyway.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
_MAX_DETAIL = 300
_REFUSES_FORMAT = re.compile(r"response_format|json_schema|tool_choice|\btools\b")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if absent or unreadable.

    Example:
        >>> parse_retry_after("2.5")
        2.5
        >>> parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
        6.0
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _schema_instruction(schema: dict[str, Any]) -> str:
    return ("\n\nAnswer with one JSON object and nothing else. It must follow this JSON Schema:\n"
            + orjson.dumps(schema).decode())


def _detail(response: httpx.Response) -> str:
    """The server's error message, from the usual ``{"error": {"message": ...}}`` shapes or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MAX_DETAIL]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error
    text = error if isinstance(error, str) else orjson.dumps(error).decode()
    return text[:_MAX_DETAIL]


class _Pools:
    """Several small httpx connection pools, used least-busy first.

    httpcore 1.0's pool does O(connections²) bookkeeping on every request and every release
    (encode/httpcore#1035, encode/httpx#3215): at 64 connections that is ~10 ms of CPU per request, which
    caps a 2-core machine far below 64 requests in flight. Pools of at most ``size`` requests in flight
    each keep that bookkeeping small; a new pool opens when every pool is full.
    """

    size = 4

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.clients: list[httpx.AsyncClient] = []
        self.busy: list[int] = []
        self._ssl = httpx.create_ssl_context()  # loading the CA bundle takes ~20 ms: once, not per pool

    def acquire(self) -> int:
        """The index of the pool to send on (its busy count already raised; lower it when done)."""
        index = min(range(len(self.busy)), key=self.busy.__getitem__, default=-1)
        if index < 0 or self.busy[index] >= self.size:
            # The engine bounds concurrency itself; a pool must never be the limit.
            self.clients.append(httpx.AsyncClient(timeout=self.timeout, verify=self._ssl, limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=self.size, keepalive_expiry=30)))
            self.busy.append(0)
            index = len(self.clients) - 1
        self.busy[index] += 1
        return index


class ChatClient(ABC):
    """Sends a request to one endpoint; one attempt per :meth:`send` (the engine retries).

    Attributes:
        api: ``openai`` or ``anthropic``.
        endpoint: the URL requests are posted to.
        mode: the structured-output mode currently used for requests with a schema.
    """

    api: ClassVar[str]
    modes: ClassVar[tuple[str, ...]]

    def __init__(self, base_url: str, *, api_key_env: str | None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.mode = self.modes[0]
        self._key: str | None = None
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise ConfigError(f"the environment variable {api_key_env} (the API key) is not set",
                                  hint=f"export {api_key_env}=... before running, or name another variable")
            self._key = key
        # Connection pools per event loop: an httpx.AsyncClient must not be shared across loops.
        self._pools: dict[asyncio.AbstractEventLoop, _Pools] = {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(endpoint={self.endpoint!r}, api_key_env={self.api_key_env!r}, "
                f"mode={self.mode!r})")

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """The URL chat requests are posted to."""

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """Authentication and version headers."""

    @abstractmethod
    def _body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        """The provider-shaped JSON body for ``request`` in structured-output ``mode``."""

    @abstractmethod
    def _parse(self, body: dict[str, Any], mode: str) -> ChatResponse:
        """A :class:`ChatResponse` from the provider's JSON answer (KeyError/TypeError when malformed)."""

    def _pool(self) -> _Pools:
        loop = asyncio.get_running_loop()
        pools = self._pools.get(loop)
        if pools is None:
            for old in [lp for lp in self._pools if lp.is_closed()]:
                del self._pools[old]
            pools = self._pools[loop] = _Pools(self.timeout)
        return pools

    async def send(self, request: ChatRequest, *, timeout: float | None = None) -> ChatResponse:
        """Send ``request`` once, degrading the structured-output mode if the server refuses it.

        Raises:
            Throttled: HTTP 429 (with the server's Retry-After).
            TransientFailure: 5xx, 408, a timeout, a connection error, or a body that is not the provider's JSON.
            TeacherRefused: any other 4xx (for 400/422 only after every structured-output mode was refused).
        """
        if request.schema is None:
            return await self._attempt(request, "text", timeout)
        refusal: TeacherRefused | None = None
        for mode in self.modes[self.modes.index(self.mode):]:
            try:
                response = await self._attempt(request, mode, timeout)
            except TeacherRefused as refused:
                if refused.status not in (400, 422):
                    raise
                refusal = refused
                continue
            except TransientFailure as failure:
                if (mode != self.modes[-1] and isinstance(failure.status, int)
                        and _REFUSES_FORMAT.search(failure.detail)):
                    # llama-cpp-python's server answers an unknown response_format with HTTP 500 and a
                    # validation error that names the field: a refusal, not a crash.
                    refusal = TeacherRefused(self.endpoint, failure.status, failure.detail)
                    continue
                # Not refused as malformed: the mode is accepted, so the retry should not re-ask the refused ones.
                self._settle(mode)
                raise
            self._settle(mode)
            return response
        # Every mode was refused. The last one asked for no structured output at all, so its reason is the
        # real one (a prompt longer than the context, a wrong model): not the first mode's format refusal.
        assert refusal is not None
        raise refusal

    def _settle(self, mode: str) -> None:
        """Remember ``mode`` when it is a downgrade of the current one."""
        if self.modes.index(mode) > self.modes.index(self.mode):
            self.mode = mode

    async def _attempt(self, request: ChatRequest, mode: str, timeout: float | None) -> ChatResponse:
        headers = {**self._headers(), KEY_HEADER: request.key()}
        content = orjson.dumps(self._body(request, mode))
        headers["content-type"] = "application/json"
        pools = self._pool()
        index = pools.acquire()
        try:
            reply = await pools.clients[index].post(self.endpoint, content=content, headers=headers,
                                                    timeout=self.timeout if timeout is None else timeout)
        except httpx.TimeoutException as exc:
            raise TransientFailure(self.endpoint, "timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise TransientFailure(self.endpoint, "connection", f"{type(exc).__name__}: {exc}"[:_MAX_DETAIL]) from None
        finally:
            pools.busy[index] -= 1
        status = reply.status_code
        if status == 429:
            raise Throttled(self.endpoint, parse_retry_after(reply.headers.get("retry-after")), _detail(reply))
        if status >= 500 or status == 408:
            raise TransientFailure(self.endpoint, status, _detail(reply))
        if status >= 400:
            raise TeacherRefused(self.endpoint, status, _detail(reply))
        try:
            return self._parse(orjson.loads(reply.content), mode)
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TransientFailure(self.endpoint, "bad body", f"{type(exc).__name__}: {reply.text[:200]!r}") from None

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop (pools of other, closed loops are dropped)."""
        loop = asyncio.get_running_loop()
        pools = self._pools.pop(loop, None)
        self._pools.clear()
        if pools is not None:
            for client in pools.clients:
                await client.aclose()


class OpenAIClient(ChatClient):
    """An OpenAI-compatible ``/chat/completions`` endpoint."""

    api = "openai"
    modes = ("json_schema", "json_object", "prompt")

    @property
    def endpoint(self) -> str:
        """``{base_url}/chat/completions``."""
        return f"{self.base_url}/chat/completions"

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key}"} if self._key else {}

    @staticmethod
    def _content(content: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(content, str):
            return content
        return [{"type": "image_url", "image_url": {"url": f"data:{p['media_type']};base64,{p['data']}"}}
                if p.get("type") == "image" else p for p in content]

    def _body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        system = request.system
        body: dict[str, Any] = {"model": request.model, **request.params}
        if request.schema is not None:
            if mode == "json_schema":
                name = re.sub(r"[^A-Za-z0-9_-]", "_", str(request.schema.get("title", "answer")))[:64] or "answer"
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": name, "schema": request.schema,
                    # OpenAI's strict mode rejects schemas that allow extra keys, so ask for it only when
                    # the schema already forbids them.
                    "strict": request.schema.get("additionalProperties") is False}}
            else:
                system += _schema_instruction(request.schema)
                if mode == "json_object":
                    body["response_format"] = {"type": "json_object", "schema": request.schema}
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": m["role"], "content": self._content(m["content"])} for m in request.messages]
        body["messages"] = messages
        return body

    def _parse(self, body: dict[str, Any], mode: str) -> ChatResponse:
        choice = body["choices"][0]
        usage = body.get("usage") or {}
        return ChatResponse(
            text=choice["message"].get("content") or "",
            model=body.get("model", ""),
            usage={"prompt_tokens": int(usage.get("prompt_tokens") or 0),
                   "completion_tokens": int(usage.get("completion_tokens") or 0)},
            finish_reason=choice.get("finish_reason") or "stop",
            mode=mode,
        )


class AnthropicClient(ChatClient):
    """Claude's Messages API (``/v1/messages``)."""

    api = "anthropic"
    modes = ("tool", "prompt")
    version = "2023-06-01"
    tool_name = "answer"
    default_max_tokens = 1024  # the Messages API requires max_tokens
    _params = ("max_tokens", "temperature", "top_p", "top_k", "stop_sequences")

    @property
    def endpoint(self) -> str:
        """``{base_url}/v1/messages``."""
        return f"{self.base_url}/v1/messages"

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.version}
        if self._key:
            headers["x-api-key"] = self._key
        return headers

    @staticmethod
    def _content(content: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(content, str):
            return content
        return [{"type": "image", "source": {"type": "base64", "media_type": p["media_type"], "data": p["data"]}}
                if p.get("type") == "image" else p for p in content]

    def _body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        # Parameters the Messages API does not know (seed, …) are dropped; they still count in the cache key.
        body: dict[str, Any] = {"model": request.model, "max_tokens": self.default_max_tokens,
                                **{k: v for k, v in request.params.items() if k in self._params}}
        system = request.system
        if request.schema is not None:
            if mode == "tool":
                body["tools"] = [{"name": self.tool_name, "description": "Record the answer.",
                                  "input_schema": request.schema}]
                body["tool_choice"] = {"type": "tool", "name": self.tool_name}
            else:
                system += _schema_instruction(request.schema)
        if system:
            body["system"] = system
        body["messages"] = [{"role": m["role"], "content": self._content(m["content"])} for m in request.messages]
        return body

    def _parse(self, body: dict[str, Any], mode: str) -> ChatResponse:
        blocks = body["content"]
        tool = next((b for b in blocks if b.get("type") == "tool_use"), None)
        text = (orjson.dumps(tool["input"]).decode() if tool is not None
                else "".join(b.get("text", "") for b in blocks if b.get("type") == "text"))
        usage = body.get("usage") or {}
        stop = body.get("stop_reason") or "end_turn"
        return ChatResponse(
            text=text,
            model=body.get("model", ""),
            usage={"prompt_tokens": int(usage.get("input_tokens") or 0),
                   "completion_tokens": int(usage.get("output_tokens") or 0)},
            finish_reason="length" if stop == "max_tokens" else "stop",
            mode=mode,
        )


_CLIENTS: dict[str, type[ChatClient]] = {"openai": OpenAIClient, "anthropic": AnthropicClient}


def default_key_env(api: str) -> str | None:
    """The provider's usual key variable when it is set, else None (a local server needs no key)."""
    usual = "ANTHROPIC_API_KEY" if api == "anthropic" else "OPENAI_API_KEY"
    return usual if os.environ.get(usual) else None


def make_client(api: str, base_url: str, *, api_key_env: str | None, timeout: float = 60.0) -> ChatClient:
    """A client for ``api`` (``openai`` or ``anthropic``) at ``base_url``.

    Args:
        api: the wire shape.
        base_url: e.g. ``https://api.openai.com/v1``, ``http://127.0.0.1:8080/v1``, ``https://api.anthropic.com``.
        api_key_env: the environment variable that holds the key (None for servers without one).
        timeout: seconds per attempt.

    Raises:
        ConfigError: unknown ``api``, or ``api_key_env`` names an unset variable.

    Example:
        >>> make_client("openai", "http://127.0.0.1:8080/v1/", api_key_env=None).endpoint
        'http://127.0.0.1:8080/v1/chat/completions'
    """
    if api not in _CLIENTS:
        raise ConfigError(f"unknown teacher API {api!r}", hint=f"use one of {', '.join(sorted(_CLIENTS))}")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url must start with http:// or https://, got {base_url!r}")
    return _CLIENTS[api](base_url, api_key_env=api_key_env, timeout=timeout)

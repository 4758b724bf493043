"""Fixtures for the engine's tests: fake chat servers on loopback, requests, and the llama.cpp server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from groundv.engine.fakeserver import FakeServer
from groundv.engine.request import ChatRequest
from tests.llm_server import llamacpp_missing, llamacpp_server

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def ask(text: str = "hello", *, schema: dict[str, Any] | None = SCHEMA, **params: Any) -> ChatRequest:
    """A one-message request (a different ``text`` is a different cache key)."""
    return ChatRequest(model="fake-model", system="You answer in JSON.", messages=({"role": "user", "content": text},),
                       schema=schema, params=params, prompt_version="test/v1")


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """A factory of started :class:`FakeServer`\\ s (same arguments), all stopped at the end of the test."""
    started: list[FakeServer] = []

    def start(*args: Any, **kwargs: Any) -> FakeServer:
        server = FakeServer(*args, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def llamacpp_url() -> Iterator[str]:
    """The OpenAI base URL of a llama.cpp server running SmolLM2 (skips when it cannot run here)."""
    if reason := llamacpp_missing():
        pytest.skip(reason)
    with llamacpp_server() as url:
        yield url

"""The OpenAI-compatible and Anthropic clients against the fake server: wire shapes, fallback, errors."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from groundv.engine.clients import make_client, parse_retry_after
from groundv.engine.engine import Engine
from groundv.engine.failures import TeacherRefused
from groundv.engine.request import ChatRequest, image_part, text_part
from groundv.errors import ConfigError
from tests.engine.conftest import SCHEMA, ask

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def chat(client, request):
    async def go():
        async with Engine(client, concurrency=4, max_retries=0) as engine:
            return await engine.chat(request)
    return asyncio.run(go())


def test_make_client_validates_api_and_url():
    with pytest.raises(ConfigError, match="unknown teacher API 'gemini'"):
        make_client("gemini", "http://x", api_key_env=None)
    with pytest.raises(ConfigError, match="http:// or https://"):
        make_client("openai", "localhost:8080", api_key_env=None)


def test_unset_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("GROUNDV_TEST_NO_KEY", raising=False)
    with pytest.raises(ConfigError, match="GROUNDV_TEST_NO_KEY"):
        make_client("openai", "http://127.0.0.1:1/v1", api_key_env="GROUNDV_TEST_NO_KEY")


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0.25", 0.25), ("-2", 0.0), ("soon", None), (None, None),
                                                ("Thu, 01 Jan 1970 00:00:10 GMT", 6.0)])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, now=4.0) == seconds


def test_openai_shape_and_images(fake_server, monkeypatch):
    monkeypatch.setenv("GROUNDV_TEST_KEY", "sk-test-123")
    server = fake_server(api_key="sk-test-123")
    client = make_client("openai", server.url + "/v1", api_key_env="GROUNDV_TEST_KEY")
    request = ChatRequest(model="gpt-x", system="sys", schema=SCHEMA, params={"temperature": 0, "max_tokens": 50},
                          messages=({"role": "user", "content": [text_part("what is this?"), image_part(PNG)]},))
    answer = chat(client, request)
    assert (answer.text, answer.mode, answer.finish_reason, answer.model) == ('{"answer": "ok"}', "json_schema",
                                                                             "stop", "gpt-x")
    assert answer.usage["prompt_tokens"] > 0 and answer.usage["completion_tokens"] > 0
    [exchange] = server.log
    body = exchange.body
    assert exchange.key == request.key() and exchange.status == 200
    assert body["temperature"] == 0 and body["max_tokens"] == 50
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    assert body["messages"][1]["content"][1] == {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + image_part(PNG)["data"]}}
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert body["response_format"]["json_schema"]["strict"] is False


def test_anthropic_round_trip_with_tool_and_image(fake_server, monkeypatch):
    monkeypatch.setenv("GROUNDV_TEST_KEY", "sk-ant-456")
    server = fake_server(lambda body: '{"answer": "a red mug", "target_ids": [3]}', api_key="sk-ant-456")
    client = make_client("anthropic", server.url, api_key_env="GROUNDV_TEST_KEY")
    request = ChatRequest(model="claude-x", system="sys", schema=SCHEMA, params={"max_tokens": 99, "seed": 3},
                          messages=({"role": "user", "content": [image_part(PNG, "image/png"), text_part("find")]},))
    answer = chat(client, request)
    assert orjson.loads(answer.text) == {"answer": "a red mug", "target_ids": [3]}
    assert (answer.mode, answer.finish_reason, answer.model) == ("tool", "stop", "claude-x")
    body = server.log[0].body
    assert body["system"] == "sys" and body["max_tokens"] == 99 and "seed" not in body
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "answer"}
    assert body["messages"][0]["content"][0] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image_part(PNG)["data"]}}


def test_anthropic_prompt_mode_and_max_tokens_cutoff(fake_server):
    server = fake_server(structured=())
    client = make_client("anthropic", server.url, api_key_env=None)
    answer = chat(client, ask())
    assert answer.mode == "prompt" and client.mode == "prompt"
    assert [e.status for e in server.log] == [400, 200]
    assert "JSON Schema" in server.log[1].body["system"] and "tools" not in server.log[1].body


def test_fallback_chain_is_recorded_and_remembered(fake_server):
    server = fake_server(structured=("json_object",))
    client = make_client("openai", server.url + "/v1", api_key_env=None)
    first = chat(client, ask("one"))
    assert first.mode == "json_object"
    assert [(e.mode, e.status) for e in server.log] == [("json_schema", 400), ("json_object", 200)]
    assert '"required":["answer"]' in server.log[1].body["messages"][0]["content"]  # schema in the prompt too
    chat(client, ask("two"))
    assert [(e.mode, e.status) for e in server.log[2:]] == [("json_object", 200)]

    plain = fake_server(structured=())
    client = make_client("openai", plain.url + "/v1", api_key_env=None)
    assert chat(client, ask()).mode == "prompt"
    assert [e.mode for e in plain.log] == ["json_schema", "json_object", "none"]
    assert chat(client, ask(schema=None)).mode == "text"


def test_a_500_naming_response_format_is_a_refusal(fake_server):
    """llama-cpp-python's server answers an unknown response_format type with HTTP 500."""
    server = fake_server(structured=("json_object",), refusal_status=500)
    client = make_client("openai", server.url + "/v1", api_key_env=None)
    assert chat(client, ask()).mode == "json_object"
    assert [(e.mode, e.status) for e in server.log] == [("json_schema", 500), ("json_object", 200)]


def test_refusal_unrelated_to_format_raises_the_first_message(fake_server):
    server = fake_server(api_key="right")
    client = make_client("openai", server.url + "/v1", api_key_env=None)
    with pytest.raises(TeacherRefused, match=r"HTTP 401\): invalid API key") as info:
        chat(client, ask())
    assert info.value.hint and len(server.log) == 1  # 401 is not a structured-output refusal: no fallback
    with pytest.raises(TeacherRefused, match="HTTP 404"):
        chat(make_client("openai", server.url + "/nowhere", api_key_env=None), ask(schema=None))


def test_key_never_in_reprs_or_errors(fake_server, monkeypatch):
    secret = "sk-very-secret-789"
    monkeypatch.setenv("GROUNDV_TEST_KEY", secret)
    server = fake_server(api_key="another")
    client = make_client("openai", server.url + "/v1", api_key_env="GROUNDV_TEST_KEY")
    assert secret not in repr(client) and "GROUNDV_TEST_KEY" in repr(client)
    with pytest.raises(TeacherRefused) as info:
        chat(client, ask())
    assert secret not in str(info.value) and secret not in repr(info.value) and secret not in str(info.value.hint)

"""LLM teachers without a server: requests built from scene and plans, parsing, the feedback retry, marks."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from groundv.engine.request import ChatRequest, ChatResponse
from groundv.errors import ConfigError
from groundv.generate import TEACHERS, make_teacher, unit_rng
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.tasks.plan import Plan
from groundv.tasks.registry import get_planner, load_prompt
from groundv.teachers.anthropic import AnthropicTeacher
from groundv.teachers.llm import INVALID_ANSWER, LLMTeacher, TeacherConfig, region_list
from groundv.teachers.marks import marked_image, marked_png, scaled_size
from groundv.teachers.openai import OpenAITeacher
from groundv.teachers.paraphrase import ParaphraseTeacher
from tests.conftest import make_region, make_scene
from tests.teachers import fake_teacher


@pytest.fixture(scope="module")
def scene():
    world = write_toyworld(__import__("tempfile").mkdtemp(), 2, seed=5)
    return next(iter(ToyWorldSource(world)))


def plans_of(scene, category: str) -> list[Plan]:
    return get_planner(category).plan(scene, unit_rng(0, scene.image_id, category), limit=3)


def openai_body(request: ChatRequest) -> dict:
    """What the fake teachers read: the request in OpenAI's shape (text parts only matter)."""
    def content(c):
        return c if isinstance(c, str) else [
            {"type": "image_url", "image_url": {"url": f"data:{p['media_type']};base64,{p['data']}"}}
            if p["type"] == "image" else p for p in c]
    return {"messages": [{"role": "system", "content": request.system},
                         *({"role": m["role"], "content": content(m["content"])} for m in request.messages)]}


class FakeChat:
    """An in-process chat that answers with a fake teacher's callback and logs the requests."""

    def __init__(self, play) -> None:
        self.play = play
        self.requests: list[ChatRequest] = []

    async def __call__(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        return ChatResponse(text=self.play(openai_body(request)), model="fake",
                            usage={"prompt_tokens": 100, "completion_tokens": 10}, mode="json_schema")


def test_region_list_nests_parts_under_objects():
    mug = make_region(1, (0, 0, 30, 20))
    handle = make_region(2, (25, 5, 30, 15), kind="part", category="mug:handle", parent_id=1)
    table = make_region(3, (0, 20, 60, 40), category="table")
    regions = region_list(make_scene(mug, handle, table))
    assert regions == [{"id": 1, "category": "mug", "box": [0, 0, 30, 20],
                        "parts": [{"id": 2, "category": "mug:handle", "box": [25, 5, 5, 10]}]},
                       {"id": 3, "category": "table", "box": [0, 20, 60, 20], "parts": []}]


def test_per_plan_requests_carry_prompt_examples_and_the_plan(scene):
    plans = plans_of(scene, "multi_object")
    teacher = OpenAITeacher(TeacherConfig("m", {"temperature": 0.2}))
    asks = teacher.asks(scene, "multi_object", plans, np.random.default_rng(0))
    assert [a.plans for a in asks] == [(i,) for i in range(len(plans))] and len(plans) >= 2
    request = asks[0].request
    prompt = load_prompt("multi_object")
    assert request.system == prompt["system"] and request.schema == prompt["schema"]
    assert request.params == {"temperature": 0.2} and request.prompt_version == "multi_object/v1"
    assert len(request.messages) == 7 and request.messages[1]["role"] == "assistant"
    assert json.loads(request.messages[1]["content"]) == prompt["examples"][0]["answer"]
    shown = json.loads(request.messages[-1]["content"].split("Plan:\n", 1)[1])
    assert shown["target_ids"] == list(plans[0].target_ids) and shown["facts"] == dict(plans[0].facts)
    assert str(plans[0].target_ids[0]) in request.messages[-1]["content"]  # the region list is there
    assert request.images() == 0
    assert len({a.request.key() for a in asks}) == len(asks)


def test_batched_request_covers_every_plan(scene):
    plans = plans_of(scene, "part")
    teacher = AnthropicTeacher(TeacherConfig("claude", batch=True))
    (ask,) = teacher.asks(scene, "part", plans, np.random.default_rng(0))
    assert ask.plans == tuple(range(len(plans)))
    assert ask.request.schema["properties"]["samples"]["items"] == load_prompt("part")["schema"]
    assert json.loads(ask.request.messages[1]["content"]) == {"samples": [load_prompt("part")["examples"][0]["answer"]]}
    shown = json.loads(ask.request.messages[-1]["content"].split("in order):\n", 1)[1])
    assert [p["target_ids"] for p in shown] == [list(p.target_ids) for p in plans]


def test_vision_request_has_the_downscaled_marked_image(scene):
    plans = plans_of(scene, "negative")
    teacher = OpenAITeacher(TeacherConfig("m", vision=True, image_size=160))
    png = marked_png(scene, 160)
    (first, *_) = teacher.asks(scene, "negative", plans, np.random.default_rng(0), png)
    parts = first.request.messages[-1]["content"]
    assert parts[0]["type"] == "image" and parts[1]["type"] == "text" and "labelled with its id" in parts[1]["text"]
    with Image.open(io.BytesIO(base64.b64decode(parts[0]["data"]))) as image:
        assert max(image.size) == 160 and image.size == scaled_size(scene.width, scene.height, 160)
    assert all(isinstance(m["content"], str) for m in first.request.messages[:-1])  # examples stay text


def test_marks_scale_masks_and_never_enlarge(scene):
    assert scaled_size(1000, 500, 250) == (250, 125) and scaled_size(100, 50, 250) == (100, 50)
    small = np.asarray(marked_image(scene, 100))
    assert small.shape[1] == 100
    plain = np.asarray(Image.open(scene.path).convert("RGB").resize((small.shape[1], small.shape[0])))
    assert np.abs(small.astype(int) - plain.astype(int)).sum() > 0  # the marks are drawn
    assert marked_png(scene, 100) == marked_png(scene, 100)


def run(teacher: LLMTeacher, chat: FakeChat, scene, category, plans, check=None):
    return asyncio.run(teacher.answer(chat, scene, category, plans, np.random.default_rng(0), check=check))


@pytest.mark.parametrize("batch", [False, True])
def test_correct_answers_parse_and_record_usage(scene, batch):
    plans = plans_of(scene, "multi_granularity")
    chat = FakeChat(fake_teacher.correct)
    answers = run(OpenAITeacher(TeacherConfig("m", batch=batch)), chat, scene, "multi_granularity", plans)
    assert len(chat.requests) == (1 if batch else len(plans))
    for plan, answer in zip(plans, answers, strict=True):
        assert answer.error is None and answer.output.target_ids == plan.target_ids
        (use,) = answer.output.usage["requests"]
        assert use["prompt_tokens"] == 100 and use["plans"] == (len(plans) if batch else 1)
        assert use["key"] in {r.key() for r in chat.requests}


def test_schema_failure_is_fed_back_once_with_the_error(scene):
    plans = plans_of(scene, "negative")[:1]
    chat = FakeChat(lambda body: '{"instruction": "Segment the cat."}')
    (answer,) = run(OpenAITeacher(TeacherConfig("m")), chat, scene, "negative", plans)
    assert answer.output is None and "missing key 'response'" in answer.error
    first, retry = chat.requests
    assert retry.key() != first.key() and retry.messages[:len(first.messages)] == first.messages
    assert retry.messages[-2] == {"role": "assistant", "content": '{"instruction": "Segment the cat."}'}
    assert "not accepted: the answer does not match the schema: missing key 'response'" in retry.messages[-1]["content"]
    assert len(answer.usage) == 2


def test_validation_failure_is_fed_back_and_fixed(scene):
    plans = plans_of(scene, "multi_object")
    chat = FakeChat(fake_teacher.fixed_on_feedback)

    def check(plan, output):
        return None if set(output.target_ids) == set(plan.target_ids) else f"targets_disagree ({output.target_ids})"

    answers = run(OpenAITeacher(TeacherConfig("m")), chat, scene, "multi_object", plans, check)
    assert len(chat.requests) == 2 * len(plans)
    assert all(a.error is None and a.output.target_ids == p.target_ids for a, p in zip(answers, plans, strict=True))
    retries = [r for r in chat.requests if r.tag.get("retry")]
    assert all("targets_disagree" in r.messages[-1]["content"] for r in retries)
    assert all(len(a.output.usage["requests"]) == 2 for a in answers)


def test_batch_retry_names_the_failing_answer_and_keeps_the_good_ones(scene):
    plans = plans_of(scene, "part")
    assert len(plans) >= 2
    calls = []

    def half_wrong(body):
        calls.append(body)
        items = json.loads(fake_teacher.correct(body))["samples"]
        items[1]["subtype"] = "nonsense"
        return json.dumps({"samples": items})

    answers = run(OpenAITeacher(TeacherConfig("m", batch=True)), FakeChat(half_wrong), scene, "part", plans)
    assert len(calls) == 2
    assert "answer 2: the answer does not match the schema" in fake_teacher.user_texts(calls[1])[-1]
    assert answers[0].error is None and answers[1].output is None and INVALID_ANSWER == "invalid_answer"
    assert len(answers[0].usage) == 1 and len(answers[1].usage) == 2


def test_unparseable_answers_say_why(scene):
    teacher = OpenAITeacher(TeacherConfig("m"))
    plans = plans_of(scene, "negative")[:1]
    (answer,) = run(teacher, FakeChat(lambda body: "I cannot help with that."), scene, "negative", plans)
    assert answer.error == "the answer holds no JSON object" and answer.raw == "I cannot help with that."
    fenced = "```json\n" + fake_teacher.correct(openai_body(teacher.asks(
        scene, "negative", plans, np.random.default_rng(0))[0].request)) + "\n```"
    (answer,) = run(teacher, FakeChat(lambda body: fenced), scene, "negative", plans)
    assert answer.error is None


def test_paraphrase_keeps_the_planners_targets(scene):
    plans = plans_of(scene, "multi_object")
    teacher = ParaphraseTeacher(TeacherConfig("m"))
    chat = FakeChat(lambda body: json.dumps({"instruction": "Mask the thing.", "response": "Masked.",
                                             "target_ids": [fake_teacher.UNKNOWN_ID]}))
    answers = run(teacher, chat, scene, "multi_object", plans)
    # target_ids is not part of the paraphrase schema: the answer is refused, never used as targets
    assert all(a.output is None and "unexpected key 'target_ids'" in a.error for a in answers)
    answers = run(teacher, FakeChat(fake_teacher.paraphrase), scene, "multi_object", plans)
    assert [a.output.target_ids for a in answers] == [p.target_ids for p in plans]
    assert all(a.output.instruction.startswith("Please, ") for a in answers)
    draft = json.loads(chat.requests[0].messages[-1]["content"].split("Plan:\n", 1)[1])["draft"]
    assert draft["instruction"] and teacher.record("part")["prompt_version"] == "paraphrase-v1"


def test_make_teacher_and_respond_needs_an_engine(scene):
    assert set(TEACHERS) == {"rules", "openai", "anthropic", "paraphrase"}
    with pytest.raises(ConfigError, match="needs a model"):
        make_teacher("openai")
    teacher = make_teacher("anthropic", TeacherConfig("claude"))
    assert isinstance(teacher, AnthropicTeacher) and teacher.record("negative")["api"] == "anthropic"
    assert make_teacher("paraphrase", TeacherConfig("m"), api="anthropic").api == "anthropic"
    with pytest.raises(ConfigError, match="needs an engine"):
        teacher.respond(scene, plans_of(scene, "negative")[0], np.random.default_rng(0))

"""LLM teachers without a server: requests built from scene and plans, parsing, the feedback retry, marks."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from groundv.engine import faketeacher
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
    chat = FakeChat(faketeacher.correct)
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
    chat = FakeChat(faketeacher.fixed_on_feedback)

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
        items = json.loads(faketeacher.correct(body))["samples"]
        items[1]["subtype"] = "nonsense"
        return json.dumps({"samples": items})

    answers = run(OpenAITeacher(TeacherConfig("m", batch=True)), FakeChat(half_wrong), scene, "part", plans)
    assert len(calls) == 2
    assert "answer 2: the answer does not match the schema" in faketeacher.user_texts(calls[1])[-1]
    assert answers[0].error is None and answers[1].output is None and INVALID_ANSWER == "invalid_answer"
    assert len(answers[0].usage) == 1 and len(answers[1].usage) == 2


def test_unparseable_answers_say_why(scene):
    teacher = OpenAITeacher(TeacherConfig("m"))
    plans = plans_of(scene, "negative")[:1]
    (answer,) = run(teacher, FakeChat(lambda body: "I cannot help with that."), scene, "negative", plans)
    assert answer.error == "the answer holds no JSON object" and answer.raw == "I cannot help with that."
    fenced = "```json\n" + faketeacher.correct(openai_body(teacher.asks(
        scene, "negative", plans, np.random.default_rng(0))[0].request)) + "\n```"
    (answer,) = run(teacher, FakeChat(lambda body: fenced), scene, "negative", plans)
    assert answer.error is None


def test_paraphrase_keeps_the_planners_targets(scene):
    plans = plans_of(scene, "multi_object")
    teacher = ParaphraseTeacher(TeacherConfig("m"))
    chat = FakeChat(lambda body: json.dumps({"instruction": "Mask the thing.", "response": "Masked.",
                                             "target_ids": [faketeacher.UNKNOWN_ID]}))
    answers = run(teacher, chat, scene, "multi_object", plans)
    # target_ids is not part of the paraphrase schema: the answer is refused, never used as targets
    assert all(a.output is None and "unexpected key 'target_ids'" in a.error for a in answers)
    answers = run(teacher, FakeChat(faketeacher.paraphrase), scene, "multi_object", plans)
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


CATEGORIES = ("negative", "multi_object", "reasoning", "multi_granularity", "part")


def units_of(scene, categories=CATEGORIES):
    return [(c, plans_of(scene, c), unit_rng(0, scene.image_id, c)) for c in categories]


def test_batch_setting_takes_the_old_booleans_and_records_them_for_old_datasets():
    assert [TeacherConfig("m", batch=b).batch for b in (False, True, "plan", "unit", "image")] == \
        ["plan", "unit", "plan", "unit", "image"]
    assert TeacherConfig("m", batch=True) == TeacherConfig("m", batch="unit")
    # per plan and per unit are recorded as before the per-image mode, so their datasets still resume
    assert [TeacherConfig("m", batch=b).to_json()["batch"] for b in ("plan", "unit", "image")] == [False, True, "image"]
    with pytest.raises(ConfigError, match="unknown request grouping 'scene'") as caught:
        TeacherConfig("m", batch="scene")
    assert "plan" in caught.value.hint and "image" in caught.value.hint


@pytest.mark.parametrize("teacher", [OpenAITeacher(TeacherConfig("m", {"temperature": 0}, batch="image")),
                                     AnthropicTeacher(TeacherConfig("c", batch="image"))])
def test_per_image_request_covers_every_category_once(scene, teacher):
    units = units_of(scene)
    counts = {c: len(p) for c, p, _ in units if p}
    assert len(counts) >= 4  # the toy scene supports most categories
    (ask,) = teacher.scene_asks(scene, units)
    request = ask.request
    assert ask.plans == tuple(range(sum(counts.values()))) and len(ask.shown) == len(ask.plans)
    assert request.prompt_version == "+".join(f"{c}/v1" for c in counts) + "+image"
    # one system prompt: the shared paragraph once, each category's task and format once
    shared = load_prompt("negative")["system"].split(" Reply with one JSON object")[0]
    assert request.system.count(shared) == 1 and request.system.startswith(shared)
    for category in counts:
        assert request.system.count(load_prompt(category)["system"].split("\n\nTask: ")[1]) == 1
        assert f'"{category}": [answer, ...]' in request.system
    assert request.schema["required"] == list(counts) and request.schema["additionalProperties"] is False
    for category, n in counts.items():
        assert request.schema["properties"][category] == {"type": "array", "minItems": n,
                                                          "items": load_prompt(category)["schema"]}
    # three example turns, each the i-th example of every category on one joined region list
    assert len(request.messages) == 7 and [m["role"] for m in request.messages[:2]] == ["user", "assistant"]
    first = json.loads(request.messages[1]["content"])
    assert first == {c: [load_prompt(c)["examples"][0]["answer"]] for c in counts}
    regions = json.loads(request.messages[0]["content"].split("Regions:\n", 1)[1].split("\n\n", 1)[0])
    assert [r["id"] for r in regions] == [r["id"] for c in counts for r in load_prompt(c)["examples"][0]["regions"]]
    # the scene's region list once, then its plans grouped by category, in order
    question = request.messages[-1]["content"]
    assert question.count("Regions:\n") == 1
    shown = json.loads(question.split("Plans by category (answer each, in order):\n", 1)[1])
    assert {c: [p["target_ids"] for p in v] for c, v in shown.items()} == \
        {c: [list(p.target_ids) for p in plans] for c, plans, _ in units if plans}
    assert request.tag["categories"] == list(counts) and request.tag["plans"] == list(ask.plans)


def test_per_image_prompt_is_smaller_than_the_units_it_replaces(scene):
    from groundv.engine.estimate import estimate_tokens

    units = units_of(scene)
    per_unit = OpenAITeacher(TeacherConfig("m", batch="unit")).scene_asks(scene, units)
    (per_image,) = OpenAITeacher(TeacherConfig("m", batch="image")).scene_asks(scene, units)
    assert len(per_unit) >= 4
    assert estimate_tokens(per_image.request) < 0.75 * sum(estimate_tokens(a.request) for a in per_unit)
    # the unit mode's answer() and asks() of one unit are the per-image request of that unit alone
    teacher = OpenAITeacher(TeacherConfig("m", batch="image"))
    (one,) = teacher.asks(scene, "part", units[-1][1], units[-1][2])
    assert one.request.schema["required"] == ["part"] and one.request.prompt_version == "part/v1+image"


@pytest.mark.parametrize("vision", [False, True])
def test_per_image_correct_answers_equal_the_per_unit_ones(scene, vision):
    png = marked_png(scene, 160) if vision else None
    got = {}
    for batch in ("unit", "image"):
        chat = FakeChat(faketeacher.correct)
        teacher = OpenAITeacher(TeacherConfig("m", vision=vision, image_size=160, batch=batch))
        got[batch] = asyncio.run(teacher.answer_scene(chat, scene, units_of(scene), image=png))
        requests = len(chat.requests)
        assert sum(r.images() for r in chat.requests) == (requests if vision else 0)
    assert requests == 1
    assert [[(a.output.instruction, a.output.target_ids) for a in unit] for unit in got["image"]] == \
        [[(a.output.instruction, a.output.target_ids) for a in unit] for unit in got["unit"]]
    plans = sum(len(unit) for unit in got["image"])
    assert all(a.error is None and a.output.usage["requests"][0]["plans"] == plans for u in got["image"] for a in u)


def test_per_image_retry_asks_only_the_failing_plan_with_its_error(scene):
    units = units_of(scene)
    bodies = []

    def one_wrong(body):
        bodies.append(body)
        answer = json.loads(faketeacher.correct(body))
        if len(bodies) == 1:
            answer["part"][1]["subtype"] = "nonsense"  # the second part plan's answer is off-schema
        return json.dumps(answer)

    chat = FakeChat(one_wrong)
    answers = asyncio.run(OpenAITeacher(TeacherConfig("m", batch="image")).answer_scene(chat, scene, units))
    first, retry = chat.requests
    assert retry.key() != first.key() and retry.messages[:len(first.messages)] == first.messages
    note = retry.messages[-1]["content"]
    assert note.startswith("Your answer was not accepted: part answer 2: the answer does not match the schema: ")
    again = json.loads(note.split("Plans to answer again:\n", 1)[1])
    part_plans = units[-1][1]
    assert again == {"part": [{"subtype": part_plans[1].subtype, "target_ids": list(part_plans[1].target_ids),
                               "facts": dict(part_plans[1].facts)}]}
    assert retry.schema["required"] == ["part"] and retry.schema["properties"]["part"]["minItems"] == 1
    assert all(a.error is None for unit in answers for a in unit)
    usages = [len(a.output.usage["requests"]) for unit in answers for a in unit]
    assert usages.count(2) == 1 and set(usages) == {1, 2}
    assert answers[-1][1].output.usage["requests"][1]["plans"] == 1


def test_per_image_validation_failure_is_fed_back_per_category(scene):
    units = units_of(scene, ("multi_object", "part"))

    def check(plan, output):
        return None if set(output.target_ids) == set(plan.target_ids) else f"unknown_target ({output.target_ids})"

    chat = FakeChat(faketeacher.fixed_on_feedback)
    answers = asyncio.run(OpenAITeacher(TeacherConfig("m", batch="image")).answer_scene(
        chat, scene, units, checks={"multi_object": check, "part": check}))
    assert len(chat.requests) == 2
    note = chat.requests[1].messages[-1]["content"]
    assert "multi_object answer 1: unknown_target" in note and "part answer 2: unknown_target" in note
    assert all(a.error is None and a.output.target_ids == p.target_ids
               for unit, (_, plans, _) in zip(answers, units, strict=True) for a, p in zip(unit, plans, strict=True))


def test_per_image_answer_missing_a_category_fails_only_that_categorys_plans(scene):
    units = units_of(scene, ("negative", "part"))

    def no_part(body):
        answer = json.loads(faketeacher.correct(body))
        answer.pop("part", None)
        return json.dumps(answer)

    negative, part = asyncio.run(OpenAITeacher(TeacherConfig("m", batch="image")).answer_scene(
        FakeChat(no_part), scene, units))
    assert all(a.error is None for a in negative)
    assert all(a.output is None and a.error == "the answer does not match the schema: missing key 'part'" for a in part)
    assert all(len(a.usage) == 2 for a in part) and all(len(a.usage) == 1 for a in negative)

    def short(body):
        answer = json.loads(faketeacher.correct(body))
        answer["negative"] = answer["negative"][:1]
        return json.dumps(answer)

    negative, part = asyncio.run(OpenAITeacher(TeacherConfig("m", batch="image")).answer_scene(
        FakeChat(short), scene, units))
    assert all(a.error == f"expected {len(units[0][1])} negative answers (one per plan), got 1" for a in negative)
    assert all(a.error is None for a in part)


def test_paraphrase_per_image_shows_its_examples_once_and_keeps_the_targets(scene):
    units = units_of(scene)
    teacher = ParaphraseTeacher(TeacherConfig("m", batch="image"))
    (ask,) = teacher.scene_asks(scene, units)
    system = ask.request.system
    assert system.count("You rewrite requests") == 1 and system.count('{"instruction": str, "response": str}') == 5
    examples = [json.loads(m["content"]) for m in ask.request.messages[1:-1:2]]
    assert [list(e) for e in examples] == [["negative"], ["multi_object"], ["part"]]
    answers = asyncio.run(teacher.answer_scene(FakeChat(faketeacher.paraphrase), scene, units))
    assert [[a.output.target_ids for a in unit] for unit in answers] == \
        [[p.target_ids for p in plans] for _, plans, _ in units]


class ClashingTeacher(OpenAITeacher):
    """Category prompts whose examples reuse region ids and share no paragraph (an edited prompt set)."""

    def _system(self, category):
        return f"Word {category} plans. Reply with JSON."

    def _examples(self, category):
        regions = [{"id": 1, "category": "mug", "box": [0, 0, 5, 5], "parts": []}]
        return [(regions, {"subtype": "x", "target_ids": [1], "facts": {}},
                 {"instruction": f"{category} example", "response": "ok", "target_ids": [1], "subtype": "x"})]


def test_per_image_examples_with_clashing_ids_get_turns_of_their_own(scene):
    (ask,) = ClashingTeacher(TeacherConfig("m", batch="image")).scene_asks(scene, units_of(scene, ("negative", "part")))
    answers = [json.loads(m["content"]) for m in ask.request.messages[1:-1:2]]
    assert answers == [{"negative": [{"instruction": "negative example", "response": "ok", "target_ids": [1],
                                      "subtype": "x"}]},
                       {"part": [{"instruction": "part example", "response": "ok", "target_ids": [1], "subtype": "x"}]}]
    assert "Category negative: Word negative plans. Reply with JSON." in ask.request.system
    assert "Category part: Word part plans." in ask.request.system

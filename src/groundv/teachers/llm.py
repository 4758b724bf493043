"""What every LLM teacher shares: the request built from a scene and its plans, the parse, one feedback retry.

An LLM teacher is shown the scene's region list (``id``, ``category``, ``box``, ``parts`` — the same
shape as the examples of the category's 3-shot prompt, :func:`groundv.tasks.registry.load_prompt`),
the prompt's three examples as earlier turns of the conversation, and the plan(s) to word. With
``vision`` the last turn also carries the image with numbered set-of-marks overlays
(:mod:`groundv.teachers.marks`), downscaled to ``image_size``.

**Requests.** ``batch=False``: one request per plan. ``batch=True``: one request per work unit
(image, category) covering all of its plans, answered as ``{"samples": [answer, ...]}`` in plan
order — the region list, the examples and, above all, the image are paid once instead of per plan.

**Answers.** The text is parsed as JSON (a code fence or text around the object is tolerated) and
checked against the schema (:func:`groundv.tasks.registry.check_schema`); the answer's ``subtype``
(and ``level``, where the plan has one) must be the plan's; in a batch each answer is checked on its
own. Then the caller's provisional check (the validator, without the duplicate test) runs. A plan
whose answer fails either is asked **once more**: the conversation continues with the model's own
answer and a message saying exactly what was wrong — never the identical prompt. A plan that still
fails becomes a rejection with reason :data:`INVALID_ANSWER` (unparseable or off-schema) or the
validator's reason code. A model that never writes JSON at all (the engine retries that itself and
gives up) makes its plans :data:`INVALID_ANSWER` rejections too; only an endpoint that fails stops the run.

Every output's ``usage`` lists the requests it took part in: ``{"requests": [{"key", "prompt_tokens",
"completion_tokens", "mode", "plans"}]}`` (``plans``: how many plans shared the request).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from groundv.engine.failures import TeacherUnavailable
from groundv.engine.request import ChatRequest, ChatResponse, image_part, text_part
from groundv.errors import ConfigError
from groundv.scene import Scene
from groundv.tasks.plan import Plan
from groundv.tasks.registry import check_schema, load_prompt
from groundv.teachers.base import Teacher, TeacherOutput

__all__ = [
    "INVALID_ANSWER", "Answer", "Ask", "Chat", "LLMTeacher", "TeacherConfig", "compact", "gather_all", "plan_view",
    "region_list",
]

T = TypeVar("T")

#: rejection reason of a plan whose answer stayed unparseable or off-schema after the feedback retry
INVALID_ANSWER = "invalid_answer"

_VISION_NOTE = ("The image shows every region outlined in its own colour and labelled with its id "
                "(a part's id is written ·id).")
_BATCH_NOTE = ("Several plans may come at once. Reply with one JSON object {\"samples\": [answer, ...]} holding "
               "one answer per plan, in the order the plans are given, each answer in the format above.")


class Chat(Protocol):
    """What a teacher needs from the engine: one awaitable chat call."""

    def __call__(self, request: ChatRequest) -> Awaitable[ChatResponse]: ...


Check = Callable[[Plan, TeacherOutput], "str | None"]


def compact(value: Any) -> str:
    """JSON without spaces (tokens cost money), non-ASCII kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def region_list(scene: Scene) -> list[dict[str, Any]]:
    """The scene's regions as the prompts show them: objects and stuff, each with its parts nested.

    Example:
        >>> from groundv import masks
        >>> from groundv.scene import Region, Scene
        >>> r = Region(4, "object", "mug", 1, masks.empty(9, 9), (1.4, 2, 3, 4.6))
        >>> region_list(Scene(1, "a.jpg", 9, 9, "demo", (r,)))
        [{'id': 4, 'category': 'mug', 'box': [1, 2, 3, 5], 'parts': []}]
    """
    def row(r: Any) -> dict[str, Any]:
        return {"id": r.id, "category": r.category, "box": [round(float(v)) for v in r.bbox]}

    tops = [{**row(r), "parts": []} for r in scene.regions if r.kind != "part"]
    by_id = {t["id"]: t for t in tops}
    for r in scene.regions:
        if r.kind == "part" and r.parent_id in by_id:
            by_id[r.parent_id]["parts"].append(row(r))
    return tops


def plan_view(plan: Plan) -> dict[str, Any]:
    """A plan as the prompts show it: ``subtype``, ``target_ids``, ``facts`` (and ``level`` when set)."""
    view: dict[str, Any] = {"subtype": plan.subtype, "target_ids": list(plan.target_ids), "facts": dict(plan.facts)}
    if plan.level is not None:
        view["level"] = plan.level
    return view


@dataclass(frozen=True)
class TeacherConfig:
    """An LLM teacher's settings; all of them go into the dataset manifest (a resume must match).

    Attributes:
        model: the model name the endpoint knows.
        params: sampling parameters sent with every request (``temperature``, ``max_tokens``).
        vision: send the image with set-of-marks overlays.
        image_size: the longer side of that image, in pixels.
        batch: one request per work unit for all its plans instead of one per plan.
    """

    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    vision: bool = False
    image_size: int = 768
    batch: bool = False

    def to_json(self) -> dict[str, Any]:
        """The settings as recorded in the manifest and in every sample's provenance."""
        return {"model": self.model, "params": dict(self.params), "vision": self.vision,
                "image_size": self.image_size if self.vision else None, "batch": self.batch}


@dataclass(frozen=True)
class Ask:
    """One request of a work unit and the plans (by index) it asks about."""

    request: ChatRequest
    plans: tuple[int, ...]


@dataclass
class Answer:
    """What became of one plan: its output (None when no answer parsed) or why it failed.

    Attributes:
        output: the last parsed output (its ``usage`` lists every request the plan took part in).
        error: why the last answer is unusable or fails the provisional check; None when it passes.
        raw: the last answer text.
        usage: the requests the plan took part in (see the module docstring).
    """

    output: TeacherOutput | None = None
    error: str | None = None
    raw: str | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)


class LLMTeacher(Teacher):
    """Words plans through a chat model (see the module docstring); subclasses pick the prompt and the API.

    Attributes:
        api: the engine client's API, ``openai`` or ``anthropic``.
        config: the teacher's settings.
    """

    api: str = "openai"

    def __init__(self, config: TeacherConfig, engine: Any = None) -> None:
        self.config = config
        self.model = config.model
        self.engine = engine

    # -- what a subclass may change -----------------------------------------------------------------

    def prompt_version(self, category: str) -> str:
        """The version recorded in samples (the category prompt's, e.g. ``v1``)."""
        return str(load_prompt(category)["version"])

    def _system(self, category: str) -> str:
        return str(load_prompt(category)["system"])

    def _item_schema(self, category: str) -> dict[str, Any]:
        return dict(load_prompt(category)["schema"])

    def _examples(self, category: str) -> list[tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]]:
        """(regions, plan as shown, answer) of each worked example."""
        return [(ex["regions"], ex["plan"], ex["answer"]) for ex in load_prompt(category)["examples"]]

    def _drafts(self, scene: Scene, plans: Sequence[Plan], rng: np.random.Generator) -> list[dict[str, Any]]:
        """Each plan as shown to the model (the paraphrase teacher adds the rules teacher's wording)."""
        return [plan_view(p) for p in plans]

    def _output(self, plan: Plan, answer: Mapping[str, Any], raw: Any) -> TeacherOutput | str:
        """A schema-valid answer → the output, or why it does not word this plan."""
        if answer.get("subtype") != plan.subtype:
            return f"subtype must be the plan's {plan.subtype!r}, got {answer.get('subtype')!r}"
        if plan.level is not None and answer.get("level", plan.level) != plan.level:
            return f"level must be the plan's {plan.level!r}, got {answer.get('level')!r}"
        return TeacherOutput(str(answer["instruction"]), str(answer["response"]),
                             tuple(int(i) for i in answer["target_ids"]), raw)

    # -- requests ----------------------------------------------------------------------------------

    def record(self, category: str) -> dict[str, Any]:
        """The teacher as recorded in a sample: name, model, prompt version, and the settings."""
        return {"name": self.name, "model": self.model, "prompt_version": self.prompt_version(category),
                "api": self.api, **{k: v for k, v in self.config.to_json().items() if k != "model"}}

    def _schema(self, category: str) -> dict[str, Any]:
        item = self._item_schema(category)
        if not self.config.batch:
            return item
        return {"type": "object", "required": ["samples"], "additionalProperties": False,
                "properties": {"samples": {"type": "array", "minItems": 1, "items": item}}}

    def _turn(self, regions: Any, plans: Sequence[Any]) -> str:
        if self.config.batch:
            return f"Regions:\n{compact(regions)}\n\nPlans (answer each, in order):\n{compact(list(plans))}"
        return f"Regions:\n{compact(regions)}\n\nPlan:\n{compact(plans[0])}"

    def _reply(self, answers: Sequence[Any]) -> str:
        return compact({"samples": list(answers)}) if self.config.batch else compact(answers[0])

    def asks(self, scene: Scene, category: str, plans: Sequence[Plan], rng: np.random.Generator,
             image: bytes | None = None) -> list[Ask]:
        """The first requests for a work unit's plans (nothing is sent; a dry run counts these).

        Args:
            scene: the image and its regions.
            category: the unit's category.
            plans: the planner's plans for the unit, in order.
            rng: the unit's generator (the paraphrase teacher's draft wording uses it).
            image: the set-of-marks PNG when ``vision`` is on.
        """
        if not plans:
            return []
        system = self._system(category) + ("\n\n" + _BATCH_NOTE if self.config.batch else "")
        history: list[dict[str, Any]] = []
        for regions, shown, answer in self._examples(category):
            history.append({"role": "user", "content": self._turn(regions, [shown])})
            history.append({"role": "assistant", "content": self._reply([answer])})
        regions = region_list(scene)
        drafts = self._drafts(scene, plans, rng)
        groups = [tuple(range(len(plans)))] if self.config.batch else [(i,) for i in range(len(plans))]
        version = f"{category}/{self.prompt_version(category)}" + ("+batch" if self.config.batch else "")
        out = []
        for group in groups:
            text = self._turn(regions, [drafts[i] for i in group])
            content: Any = text
            if image is not None:
                content = [image_part(image), text_part(f"{_VISION_NOTE}\n\n{text}")]
            messages = (*history, {"role": "user", "content": content})
            out.append(Ask(ChatRequest(self.model or "", system, messages, self._schema(category),
                                       dict(self.config.params), version,
                                       tag={"image_id": scene.image_id, "category": category, "plans": list(group)}),
                           group))
        return out

    def _parse(self, text: str, plans: Sequence[Plan], group: Sequence[int],
               category: str) -> dict[int, TeacherOutput | str]:
        """Each plan of ``group`` → its output, or why its answer is unusable."""
        value = _json(text)
        if isinstance(value, str):
            return dict.fromkeys(group, value)
        item_schema = self._item_schema(category)
        if self.config.batch:
            # The envelope first, then each answer on its own: one bad answer fails only its plan.
            envelope = self._schema(category)
            if why := check_schema(value, {**envelope, "properties": {"samples": {"type": "array"}}}):
                return dict.fromkeys(group, f"the answer does not match the schema: {why}")
            items = value["samples"]
            if len(items) != len(group):
                return dict.fromkeys(group, f"expected {len(group)} answers (one per plan), got {len(items)}")
        else:
            items = [value]
        out: dict[int, TeacherOutput | str] = {}
        for i, item in zip(group, items, strict=True):
            why = check_schema(item, item_schema)
            out[i] = f"the answer does not match the schema: {why}" if why else self._output(plans[i], item, item)
        return out

    @staticmethod
    def _feedback(request: ChatRequest, group: Sequence[int], text: str, errors: Mapping[int, str]) -> ChatRequest:
        """The request continued with the model's answer and what was wrong with it."""
        if len(group) == 1:
            problem = next(iter(errors.values()))
        else:
            position = {p: n for n, p in enumerate(group, 1)}
            problem = "; ".join(f"answer {position[i]}: {why}" for i, why in sorted(errors.items()))
        note = (f"Your answer was not accepted: {problem}. Reply again with the corrected JSON only, "
                "keeping the plan's target_ids and subtype.")
        messages = (*request.messages, {"role": "assistant", "content": text}, {"role": "user", "content": note})
        return ChatRequest(request.model, request.system, messages, request.schema, request.params,
                           request.prompt_version, tag={**request.tag, "retry": True})

    # -- answering ---------------------------------------------------------------------------------

    async def answer(self, chat: Chat, scene: Scene, category: str, plans: Sequence[Plan],
                     rng: np.random.Generator, *, image: bytes | None = None,
                     check: Check | None = None) -> list[Answer]:
        """Word a work unit's plans (see the module docstring), one :class:`Answer` per plan.

        Args:
            chat: the engine's ``chat`` coroutine function.
            scene, category, plans, rng, image: as for :meth:`asks`.
            check: the provisional validation of an output (None when it passes); a failure is fed
                back like a schema error.

        Raises:
            BudgetExhausted, TeacherUnavailable, TeacherRefused: from the engine; nothing is returned
                for the unit then.
        """
        answers = [Answer() for _ in plans]
        asks = self.asks(scene, category, plans, rng, image)
        await gather_all(*(self._attempt(chat, ask, plans, answers, category, check) for ask in asks))
        for a in answers:
            if a.output is not None:
                o = a.output
                a.output = TeacherOutput(o.instruction, o.response, o.target_ids, o.raw, {"requests": a.usage})
        return answers

    async def _attempt(self, chat: Chat, ask: Ask, plans: Sequence[Plan], answers: list[Answer],
                       category: str, check: Check | None) -> None:
        request, todo = ask.request, ask.plans
        for attempt in (1, 2):
            try:
                response = await chat(request)
            except TeacherUnavailable as exc:
                if not exc.answer_unusable:
                    raise
                # The endpoint works but the model never wrote JSON (or was always cut off): that is
                # this unit's answer being unusable, not the endpoint failing — reject, do not stop.
                for i in todo:
                    answers[i].error = f"the model gave no JSON answer ({exc.message})"
                return
            use = {"key": request.key(), "prompt_tokens": int(response.usage.get("prompt_tokens", 0)),
                   "completion_tokens": int(response.usage.get("completion_tokens", 0)), "mode": response.mode,
                   "plans": len(ask.plans)}
            parsed = self._parse(response.text, plans, ask.plans, category)
            errors: dict[int, str] = {}
            for i in todo:
                got, answer = parsed[i], answers[i]
                answer.usage.append(use)
                answer.raw = response.text
                if isinstance(got, str):
                    errors[i] = answer.error = got
                    continue
                # An output that fails the check is kept: if the retry fails too, the plan is
                # rejected with the validator's own reason code.
                answer.output = got
                answer.error = check(plans[i], got) if check is not None else None
                if answer.error is not None:
                    errors[i] = answer.error
            if not errors or attempt == 2:
                return
            request = self._feedback(request, ask.plans, response.text, errors)
            todo = tuple(sorted(errors))

    def respond(self, scene: Scene, plan: Plan, rng: np.random.Generator) -> TeacherOutput:
        """Word one plan through the engine given at construction (blocking; usable from worker threads).

        Executors send whole work units concurrently with :meth:`answer`; this is the plain
        :class:`~groundv.teachers.base.Teacher` interface. A plan without a usable answer after the
        retry gets empty texts (the validator rejects them) and the error in ``usage["error"]``.

        Raises:
            ConfigError: the teacher was built without an engine.
        """
        if self.engine is None:
            raise ConfigError(f"the {self.name} teacher needs an engine to answer",
                              hint="build it with an Engine (groundv.engine.engine.Engine)")
        from groundv.engine.engine import run_sync

        engine = self.engine

        async def chat(request: ChatRequest) -> ChatResponse:
            return await asyncio.to_thread(engine.chat_sync, request)

        image = None
        if self.config.vision:
            from groundv.teachers.marks import marked_png

            image = marked_png(scene, self.config.image_size)
        answer = run_sync(self.answer(chat, scene, plan.category, [plan], rng, image=image))[0]
        if answer.output is None:
            return TeacherOutput("", "", (), answer.raw, {"requests": answer.usage, "error": answer.error})
        return answer.output


async def gather_all(*aws: Awaitable[T]) -> list[T]:
    """:func:`asyncio.gather` that lets every awaitable finish before raising the first failure.

    A request in flight is being paid for: when one request of a unit hits the budget cap, its
    siblings must still receive (and cache) their answers rather than be dropped half-way.
    """
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def _json(text: str) -> Any:
    """The JSON object in a model's answer, or why there is none."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(body[start:end + 1])
            except json.JSONDecodeError as exc:
                return f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"
        return "the answer holds no JSON object"

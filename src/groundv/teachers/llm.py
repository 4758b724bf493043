"""What every LLM teacher shares: the request built from a scene and its plans, the parse, one feedback retry.

An LLM teacher is shown the scene's region list (``id``, ``category``, ``box``, ``parts`` — the same
shape as the examples of the category's 3-shot prompt, :func:`groundv.tasks.registry.load_prompt`),
the prompt's three examples as earlier turns of the conversation, and the plan(s) to word. With
``vision`` the last turn also carries the image with numbered set-of-marks overlays
(:mod:`groundv.teachers.marks`), downscaled to ``image_size``.

**Requests** (``TeacherConfig.batch``, one of :data:`BATCH_MODES`):

- ``plan``: one request per plan, answered with one answer object.
- ``unit``: one request per work unit (image, category) covering all of its plans, answered as
  ``{"samples": [answer, ...]}`` in plan order — the region list, the examples and, above all, the
  image are paid once per unit instead of per plan.
- ``image``: one request per image covering the plans of every category asked
  (:meth:`LLMTeacher.answer_scene`), answered as ``{"negative": [answer, ...], "part": [...], ...}``
  — an object keyed by category, each list in plan order. The system prompt says what every category
  shares once, then each category's task paragraph and answer format; the worked examples are merged
  into three turns (the i-th example of every category, their region lists joined — an example whose
  ids clash with the turn's starts a turn of its own); the region list and the image come once. The
  schema is that object: each category a list of its own answer schema.

**Answers.** The text is parsed as JSON (a code fence or text around the object is tolerated) and
checked against the schema (:func:`groundv.tasks.registry.check_schema`); the answer's ``subtype``
(and ``level``, where the plan has one) must be the plan's; in a batch each answer is checked on its
own (a missing category or a list of the wrong length fails only that category's plans). Then the
caller's provisional check (the validator, without the duplicate test) runs. A plan whose answer fails
either is asked **once more**: the conversation continues with the model's own answer and a message
saying exactly what was wrong — never the identical prompt (per plan and per unit the model answers
the whole request again; per image it answers only the failing plans, which the message lists again).
A plan that still fails becomes a rejection with reason :data:`INVALID_ANSWER` (unparseable or
off-schema) or the validator's reason code. A model that never writes JSON at all (the engine retries
that itself and gives up) makes its plans :data:`INVALID_ANSWER` rejections too; only an endpoint that
fails stops the run.

Every output's ``usage`` lists the requests it took part in: ``{"requests": [{"key", "prompt_tokens",
"completion_tokens", "mode", "plans"}]}`` (``plans``: how many plans the request asked about).
"""

from __future__ import annotations

import asyncio
import json
import re
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
    "BATCH_MODES", "INVALID_ANSWER", "Answer", "Ask", "Chat", "Example", "LLMTeacher", "TeacherConfig", "Unit",
    "batch_mode", "compact", "gather_all", "plan_view", "region_list",
]

T = TypeVar("T")

#: rejection reason of a plan whose answer stayed unparseable or off-schema after the feedback retry
INVALID_ANSWER = "invalid_answer"

#: how plans are grouped into requests: one per plan, per work unit (image × category), per image
BATCH_MODES: tuple[str, ...] = ("plan", "unit", "image")
# How each mode is recorded: per plan and per unit keep the booleans that datasets made before the
# per-image mode recorded, so those datasets resume (same settings) and write the same bytes.
_RECORDED: dict[str, bool | str] = {"plan": False, "unit": True, "image": "image"}

#: a worked example: (regions, plan as shown, answer)
Example = tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]
#: one work unit of a scene as a teacher gets it: (category, plans, the unit's generator)
Unit = tuple[str, Sequence[Plan], np.random.Generator]

_VISION_NOTE = ("The image shows every region outlined in its own colour and labelled with its id "
                "(a part's id is written ·id).")
_BATCH_NOTE = ("Several plans may come at once. Reply with one JSON object {\"samples\": [answer, ...]} holding "
               "one answer per plan, in the order the plans are given, each answer in the format above.")
_IMAGE_NOTE = ("The plans come grouped by category, several per category. Reply with one JSON object and nothing "
               "else, keyed by category: {shape}, holding for each category one answer per plan, in the order "
               "its plans are given, each answer in that category's format.")
#: the answer-format sentence that ends each category prompt's shared paragraph
_FORMAT = re.compile(r"\s*Reply with one JSON object and nothing else: (\{.*\})\.?\s*$", re.S)
_PLANS_BY_CATEGORY = "\n\nPlans by category (answer each, in order):\n"
_PLANS_AGAIN = "\n\nPlans to answer again:\n"


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


def batch_mode(value: bool | str | None) -> str:
    """The request grouping of a ``batch`` setting: one of :data:`BATCH_MODES`.

    ``False``/``None`` and ``True`` are the spellings from before the per-image mode (and what
    per-plan and per-unit datasets record), meaning ``plan`` and ``unit``.

    Raises:
        ConfigError: anything else.

    Example:
        >>> batch_mode(True), batch_mode(False), batch_mode("image")
        ('unit', 'plan', 'image')
    """
    if value is None or isinstance(value, bool):
        return "unit" if value else "plan"
    if value in BATCH_MODES:
        return str(value)
    raise ConfigError(f"unknown request grouping {value!r}",
                      hint="batch is plan (one request per plan), unit (per image and category) "
                           "or image (per image, every category)")


@dataclass(frozen=True)
class TeacherConfig:
    """An LLM teacher's settings; all of them go into the dataset manifest (a resume must match).

    Attributes:
        model: the model name the endpoint knows.
        params: sampling parameters sent with every request (``temperature``, ``max_tokens``).
        vision: send the image with set-of-marks overlays.
        image_size: the longer side of that image, in pixels.
        batch: how plans are grouped into requests, one of :data:`BATCH_MODES` (``plan``, ``unit``,
            ``image``; see the module docstring); ``False``/``True`` are accepted for ``plan``/``unit``
            and it always reads back as the mode's name.
    """

    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    vision: bool = False
    image_size: int = 768
    batch: bool | str = "plan"

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch", batch_mode(self.batch))

    def to_json(self) -> dict[str, Any]:
        """The settings as recorded in the manifest and in every sample's provenance.

        ``batch`` is recorded as ``false`` (per plan), ``true`` (per unit) or ``"image"``.
        """
        return {"model": self.model, "params": dict(self.params), "vision": self.vision,
                "image_size": self.image_size if self.vision else None, "batch": _RECORDED[str(self.batch)]}


@dataclass(frozen=True)
class Ask:
    """One request and the plans it asks about.

    Attributes:
        request: what is sent.
        plans: the plans' indices — in the unit's plans for :meth:`LLMTeacher.asks`, in the scene's
            plans (units in order) for :meth:`LLMTeacher.scene_asks`.
        shown: each of those plans as the request shows it (a per-image retry shows the failing ones again).
    """

    request: ChatRequest
    plans: tuple[int, ...]
    shown: tuple[dict[str, Any], ...] = ()


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

    def _system_parts(self, category: str) -> tuple[str, str]:
        """The system prompt as (what every category shares, the category's own task paragraph)."""
        shared, found, task = self._system(category).partition("\n\nTask: ")
        return (shared, task) if found else ("", self._system(category))

    def _item_schema(self, category: str) -> dict[str, Any]:
        return dict(load_prompt(category)["schema"])

    def _examples(self, category: str) -> list[Example]:
        """(regions, plan as shown, answer) of each worked example."""
        return [(ex["regions"], ex["plan"], ex["answer"]) for ex in load_prompt(category)["examples"]]

    def _image_examples(self, categories: Sequence[str]) -> list[list[tuple[str, Example]]]:
        """The worked examples of a per-image request: turns, each a list of (category, example).

        The i-th turn holds the i-th example of every category (split further where region ids clash).
        """
        examples = {c: self._examples(c) for c in categories}
        return [[(c, examples[c][i]) for c in categories if i < len(examples[c])]
                for i in range(max(len(e) for e in examples.values()))]

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
        if self.config.batch == "plan":
            return item
        return {"type": "object", "required": ["samples"], "additionalProperties": False,
                "properties": {"samples": {"type": "array", "minItems": 1, "items": item}}}

    def _turn(self, regions: Any, plans: Sequence[Any]) -> str:
        if self.config.batch == "unit":
            return f"Regions:\n{compact(regions)}\n\nPlans (answer each, in order):\n{compact(list(plans))}"
        return f"Regions:\n{compact(regions)}\n\nPlan:\n{compact(plans[0])}"

    def _reply(self, answers: Sequence[Any]) -> str:
        return compact({"samples": list(answers)}) if self.config.batch == "unit" else compact(answers[0])

    def asks(self, scene: Scene, category: str, plans: Sequence[Plan], rng: np.random.Generator,
             image: bytes | None = None) -> list[Ask]:
        """The first requests for a work unit's plans (nothing is sent; a dry run counts these).

        Per image (``batch="image"``) this is the per-image request of this one unit.

        Args:
            scene: the image and its regions.
            category: the unit's category.
            plans: the planner's plans for the unit, in order.
            rng: the unit's generator (the paraphrase teacher's draft wording uses it).
            image: the set-of-marks PNG when ``vision`` is on.
        """
        if not plans:
            return []
        if self.config.batch == "image":
            return self.scene_asks(scene, [(category, plans, rng)], image)
        batch = self.config.batch == "unit"
        system = self._system(category) + ("\n\n" + _BATCH_NOTE if batch else "")
        history: list[dict[str, Any]] = []
        for regions, shown, answer in self._examples(category):
            history.append({"role": "user", "content": self._turn(regions, [shown])})
            history.append({"role": "assistant", "content": self._reply([answer])})
        regions = region_list(scene)
        drafts = self._drafts(scene, plans, rng)
        groups = [tuple(range(len(plans)))] if batch else [(i,) for i in range(len(plans))]
        version = f"{category}/{self.prompt_version(category)}" + ("+batch" if batch else "")
        out = []
        for group in groups:
            views = tuple(drafts[i] for i in group)
            messages = (*history, _question(self._turn(regions, views), image))
            out.append(Ask(ChatRequest(self.model or "", system, messages, self._schema(category),
                                       dict(self.config.params), version,
                                       tag={"image_id": scene.image_id, "category": category, "plans": list(group)}),
                           group, views))
        return out

    def scene_asks(self, scene: Scene, units: Sequence[Unit], image: bytes | None = None) -> list[Ask]:
        """The first requests for a scene's work units (units without plans are skipped).

        Per image (``batch="image"``): one request for all of them; otherwise each unit's :meth:`asks`.
        :attr:`Ask.plans` index the scene's plans, unit after unit.
        """
        units = [u for u in units if u[1]]
        if not units:
            return []
        if self.config.batch != "image":
            out, offset = [], 0
            for category, plans, rng in units:
                out += [Ask(a.request, tuple(offset + i for i in a.plans), a.shown)
                        for a in self.asks(scene, category, plans, rng, image)]
                offset += len(plans)
            return out
        categories = [category for category, _, _ in units]
        history: list[dict[str, Any]] = []
        for regions, shown, answers in _merged(self._image_examples(categories)):
            history.append({"role": "user", "content": _image_turn(regions, shown)})
            history.append({"role": "assistant", "content": compact(answers)})
        views = [view for category, plans, rng in units for view in self._drafts(scene, plans, rng)]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for (category, _), view in zip(_slots(units), views, strict=True):
            grouped.setdefault(category, []).append(view)
        version = "+".join(f"{c}/{self.prompt_version(c)}" for c in categories) + "+image"
        messages = (*history, _question(_image_turn(region_list(scene), grouped), image))
        schema = self._image_schema({c: len(v) for c, v in grouped.items()})
        plans = tuple(range(len(views)))
        request = ChatRequest(self.model or "", self._image_system(categories), messages, schema,
                              dict(self.config.params), version,
                              tag={"image_id": scene.image_id, "categories": categories, "plans": list(plans)})
        return [Ask(request, plans, tuple(views))]

    def _image_system(self, categories: Sequence[str]) -> str:
        """One system prompt for several categories: the shared paragraph once, then each category's task."""
        parts = [self._system_parts(c) for c in categories]
        found = [_FORMAT.search(shared) for shared, _ in parts]
        heads = {shared[:m.start()] if m else None for (shared, _), m in zip(parts, found, strict=True)}
        if len(heads) == 1 and (head := heads.pop()):
            sections = [f"Category {c}: " + (f"{task} " if task else "") + f"Each answer: {m.group(1)}."
                        for c, (_, task), m in zip(categories, parts, found, strict=True) if m]
        else:  # prompts that share no paragraph (edited prompt files): each category's in full
            head, sections = "", [f"Category {c}: {self._system(c)}" for c in categories]
        shape = "{" + ", ".join(f'"{c}": [answer, ...]' for c in categories) + "}"
        return "\n\n".join([*([head] if head else []), *sections, _IMAGE_NOTE.format(shape=shape)])

    def _image_schema(self, counts: Mapping[str, int]) -> dict[str, Any]:
        """An object keyed by category, each a list of ``counts[category]`` answers in its own schema."""
        return {"type": "object", "required": list(counts), "additionalProperties": False,
                "properties": {c: {"type": "array", "minItems": n, "items": self._item_schema(c)}
                               for c, n in counts.items()}}

    def _parse(self, text: str, slots: Sequence[tuple[str, Plan]],
               group: Sequence[int]) -> dict[int, TeacherOutput | str]:
        """Each plan of ``group`` (indices into ``slots``) → its output, or why its answer is unusable."""
        value = _json(text)
        if isinstance(value, str):
            return dict.fromkeys(group, value)
        items: dict[int, Any] = {}
        out: dict[int, TeacherOutput | str] = {}
        if self.config.batch == "image":
            # Category by category, then each answer on its own: one bad answer fails only its plan.
            by_category: dict[str, list[int]] = {}
            for i in group:
                by_category.setdefault(slots[i][0], []).append(i)
            for category, indices in by_category.items():
                why = check_schema(value, {"type": "object", "required": [category],
                                           "properties": {category: {"type": "array"}}})
                if why:
                    out.update(dict.fromkeys(indices, f"the answer does not match the schema: {why}"))
                elif len(value[category]) != len(indices):
                    out.update(dict.fromkeys(indices, f"expected {len(indices)} {category} answers (one per "
                                                      f"plan), got {len(value[category])}"))
                else:
                    items.update(zip(indices, value[category], strict=True))
        elif self.config.batch == "unit":
            # The envelope first, then each answer on its own: one bad answer fails only its plan.
            envelope = self._schema(slots[group[0]][0])
            if why := check_schema(value, {**envelope, "properties": {"samples": {"type": "array"}}}):
                return dict.fromkeys(group, f"the answer does not match the schema: {why}")
            samples = value["samples"]
            if len(samples) != len(group):
                return dict.fromkeys(group, f"expected {len(group)} answers (one per plan), got {len(samples)}")
            items = dict(zip(group, samples, strict=True))
        else:
            items = {group[0]: value}
        for i, item in items.items():
            category, plan = slots[i]
            why = check_schema(item, self._item_schema(category))
            out[i] = f"the answer does not match the schema: {why}" if why else self._output(plan, item, item)
        return {i: out[i] for i in group}

    def _feedback(self, ask: Ask, request: ChatRequest, slots: Sequence[tuple[str, Plan]], text: str,
                  errors: Mapping[int, str]) -> tuple[ChatRequest, tuple[int, ...]]:
        """The request continued with the model's answer and what was wrong; and the plans it asks about.

        Per plan and per unit the model answers the whole request again; per image only the failing
        plans, listed again by category (with a schema for just those).
        """
        schema = request.schema
        if self.config.batch == "image":
            position: dict[int, int] = {}
            for i in ask.plans:
                position[i] = 1 + sum(slots[j][0] == slots[i][0] for j in position)
            problem = "; ".join(f"{slots[i][0]} answer {position[i]}: {why}" for i, why in sorted(errors.items()))
            again: dict[str, list[dict[str, Any]]] = {}
            for i in sorted(errors):
                again.setdefault(slots[i][0], []).append(ask.shown[ask.plans.index(i)])
            note = (f"Your answer was not accepted: {problem}. Reply again with one JSON object holding corrected "
                    "answers for these plans only, keyed by category, each list in the order below, keeping each "
                    f"plan's target_ids and subtype.{_PLANS_AGAIN}{compact(again)}")
            schema = self._image_schema({c: len(v) for c, v in again.items()})
            group = tuple(sorted(errors))
        else:
            if len(ask.plans) == 1:
                problem = next(iter(errors.values()))
            else:
                order = {p: n for n, p in enumerate(ask.plans, 1)}
                problem = "; ".join(f"answer {order[i]}: {why}" for i, why in sorted(errors.items()))
            note = (f"Your answer was not accepted: {problem}. Reply again with the corrected JSON only, "
                    "keeping the plan's target_ids and subtype.")
            group = ask.plans
        messages = (*request.messages, {"role": "assistant", "content": text}, {"role": "user", "content": note})
        return ChatRequest(request.model, request.system, messages, schema, request.params,
                           request.prompt_version, tag={**request.tag, "retry": True}), group

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
        checks = {category: check} if check is not None else {}
        return (await self.answer_scene(chat, scene, [(category, plans, rng)], image=image, checks=checks))[0]

    async def answer_scene(self, chat: Chat, scene: Scene, units: Sequence[Unit], *, image: bytes | None = None,
                           checks: Mapping[str, Check] | None = None) -> list[list[Answer]]:
        """Word a scene's work units — one request per image, per unit or per plan as configured.

        Args:
            chat: the engine's ``chat`` coroutine function.
            scene: the image and its regions.
            units: (category, plans, the unit's generator) of each unit, in order.
            image: the set-of-marks PNG when ``vision`` is on.
            checks: each category's provisional validation (see :meth:`answer`).

        Returns:
            Per unit, one :class:`Answer` per plan.

        Raises:
            BudgetExhausted, TeacherUnavailable, TeacherRefused: from the engine; nothing is returned then.
        """
        slots = _slots(units)
        answers = [Answer() for _ in slots]
        asks = self.scene_asks(scene, units, image)
        await gather_all(*(self._attempt(chat, ask, slots, answers, checks or {}) for ask in asks))
        for a in answers:
            if a.output is not None:
                o = a.output
                a.output = TeacherOutput(o.instruction, o.response, o.target_ids, o.raw, {"requests": a.usage})
        out, start = [], 0
        for _, plans, _ in units:
            out.append(answers[start:start + len(plans)])
            start += len(plans)
        return out

    async def _attempt(self, chat: Chat, ask: Ask, slots: Sequence[tuple[str, Plan]], answers: list[Answer],
                       checks: Mapping[str, Check]) -> None:
        request, todo, asked = ask.request, ask.plans, ask.plans
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
                   "plans": len(asked)}
            parsed = self._parse(response.text, slots, asked)
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
                check = checks.get(slots[i][0])
                answer.error = check(slots[i][1], got) if check is not None else None
                if answer.error is not None:
                    errors[i] = answer.error
            if not errors or attempt == 2:
                return
            request, asked = self._feedback(ask, request, slots, response.text, errors)
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


def _slots(units: Sequence[Unit]) -> list[tuple[str, Plan]]:
    """The scene's plans, unit after unit, each with its category."""
    return [(category, plan) for category, plans, _ in units for plan in plans]


def _question(text: str, image: bytes | None) -> dict[str, Any]:
    """The last user turn: the text, after the set-of-marks image when there is one."""
    if image is None:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [image_part(image), text_part(f"{_VISION_NOTE}\n\n{text}")]}


def _image_turn(regions: Any, plans: Mapping[str, Sequence[Any]]) -> str:
    return f"Regions:\n{compact(regions)}{_PLANS_BY_CATEGORY}{compact(dict(plans))}"


def _ids(regions: Sequence[Mapping[str, Any]]) -> set[int]:
    return {r["id"] for r in regions} | {p["id"] for r in regions for p in r.get("parts", ())}


def _merged(turns: Sequence[Sequence[tuple[str, Example]]]) -> list[tuple[list[Any], dict[str, list[Any]],
                                                                          dict[str, list[Any]]]]:
    """Worked examples joined into per-image turns: (regions, plans by category, answers by category).

    Examples of one turn share a region list; one whose ids clash with it starts a new turn, so that
    every id names one region.
    """
    out: list[tuple[list[Any], dict[str, list[Any]], dict[str, list[Any]]]] = []
    for turn in turns:
        taken: set[int] | None = None
        for category, (regions, plan, answer) in turn:
            if taken is None or taken & _ids(regions):
                out.append(([], {}, {}))
                taken = set()
            joined, plans, answers = out[-1]
            joined += regions
            taken |= _ids(regions)
            plans.setdefault(category, []).append(plan)
            answers.setdefault(category, []).append(answer)
    return out

"""One scene's work units through an LLM teacher: plan, ask, validate — the reusable piece every executor runs.

:class:`SceneRunner` is built from a plain settings dict (:func:`llm_settings` makes one), so an
executor can build one per process or Ray actor, each with its own :class:`~groundv.engine.engine.Engine`,
and call :meth:`SceneRunner.run` for any scene. For one scene and the categories still to do it:

1. plans every unit synchronously, exactly as the rules path does (same ``unit_rng``, same shared
   :class:`~groundv.tasks.facts.SceneFacts`), and renders the set-of-marks image once when ``vision``;
2. asks the teacher for all units at once (:meth:`~groundv.teachers.llm.LLMTeacher.answer_scene`: their
   requests run concurrently through the engine; with ``batch="image"`` one request covers them all),
   each answer checked provisionally by the validator (without the duplicate test) so that a wrong
   answer gets its one feedback retry;
3. validates the final answers in category and plan order with the image's duplicate set, so the
   result is the same however the requests interleaved.

Per image, the request always covers every category of the run that has plans, also when a resume
has only some of the image's units left to do (a run killed while writing them): it is then the very
request the first run sent, answered from the cache — free, and the same words — and only the units
still to do are kept.

Samples carry ``provenance.teacher`` (the teacher's settings beyond the sample's ``teacher`` triple:
api, params, vision, image size, batch) and ``provenance.usage`` (every request the plan took part in:
key, tokens, mode, how many plans shared it); rejections carry ``teacher`` (the whole record) and
``usage`` likewise. Whether an answer came from the cache is deliberately not recorded in the
sample — a resumed run must write the same bytes as an uninterrupted one; :attr:`SceneRunner.counts`
has it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groundv.engine.failures import EngineStopped
from groundv.engine.request import ChatRequest, ChatResponse
from groundv.errors import ConfigError, GroundvError
from groundv.scene import Scene
from groundv.store import UnitResult
from groundv.tasks.plan import Plan, Planner
from groundv.teachers.base import TeacherOutput
from groundv.teachers.llm import INVALID_ANSWER, Answer, LLMTeacher, batch_mode

__all__ = ["SceneRunner", "check_budget", "llm_settings"]


def check_budget(max_cost: float | None, prices: Sequence[float]) -> None:
    """Refuse a cost cap that could never be reached: every answer costs 0 without a price per token.

    Raises:
        ConfigError: ``max_cost`` is set and both prices are zero.
    """
    if max_cost is not None and not any(float(p) for p in prices):
        raise ConfigError(f"a cost cap of {max_cost:g} needs the prices per million tokens: without them every "
                          "answer costs 0 and the cap would never stop the run",
                          hint="add --price-prompt and --price-completion (the endpoint's prices), or use "
                               "--max-requests to cap the number of paid requests")


def llm_settings(teacher: str, categories: Sequence[str], seed: int, plans_per_unit: int, *,
                 model: str, api: str | None = None, params: Mapping[str, Any] | None = None,
                 vision: bool = False, image_size: int = 768, batch: bool | str = False,
                 base_url: str, api_key_env: str | None = None, cache: str | Path | None = None,
                 ledger: str | Path | None = None, prices: tuple[float, float] = (0.0, 0.0),
                 max_cost: float | None = None, max_requests: int | None = None, concurrency: int = 16,
                 timeout: float = 60.0, max_retries: int = 6) -> dict[str, Any]:
    """The plain settings dict :meth:`SceneRunner.build` takes (JSON-ready, picklable).

    ``teacher``/``model``/``api``/``params``/``vision``/``image_size``/``batch`` say what is asked
    (they belong in the dataset manifest); the rest says how it is sent and paid (it does not).
    ``api_key_env`` names the environment variable of the key — the key itself is never stored.
    ``batch`` is ``plan``, ``unit`` or ``image`` (:data:`~groundv.teachers.llm.BATCH_MODES`; ``False``/``True``
    mean ``plan``/``unit``).

    Raises:
        ConfigError: an unknown ``batch``, or ``max_cost`` without prices (:func:`check_budget`).
    """
    check_budget(max_cost, prices)
    return {
        "teacher": teacher, "api": api, "categories": list(categories), "seed": int(seed),
        "plans_per_unit": int(plans_per_unit),
        "config": {"model": model, "params": dict(params or {}), "vision": bool(vision),
                   "image_size": int(image_size), "batch": batch_mode(batch)},
        "engine": {"base_url": base_url, "api_key_env": api_key_env,
                   "cache": None if cache is None else str(cache), "ledger": None if ledger is None else str(ledger),
                   "prices": [float(prices[0]), float(prices[1])], "max_cost": max_cost,
                   "max_requests": max_requests, "concurrency": int(concurrency), "timeout": float(timeout),
                   "max_retries": int(max_retries)},
    }


class SceneRunner:
    """Turns scenes into unit results through an LLM teacher (see the module docstring).

    Use it as an async context manager (that opens and closes its engine), or pass ``chat`` to
    :meth:`run` to bring your own.

    Attributes:
        settings: what it was built from.
        teacher: the LLM teacher.
        planners: the planner of each category.
        counts: ``requests`` (answers received), ``cached`` (of those, from the cache), ``prompt_tokens``
            and ``completion_tokens`` (of all answers, cached or not), ``accepted``, ``rejected``.
    """

    def __init__(self, settings: Mapping[str, Any], teacher: LLMTeacher, planners: Mapping[str, Planner]) -> None:
        self.settings = settings
        self.teacher = teacher
        self.planners = dict(planners)
        self.counts: Counter[str] = Counter()
        self.engine: Any = None

    @classmethod
    def build(cls, settings: Mapping[str, Any]) -> SceneRunner:
        """A runner from :func:`llm_settings`' dict (nothing is opened until ``async with``).

        Raises:
            ConfigError: an unknown teacher or category, or a teacher that is not an LLM teacher.
        """
        from groundv.generate import make_teacher
        from groundv.tasks.registry import get_planner
        from groundv.teachers.llm import TeacherConfig

        teacher = make_teacher(settings["teacher"], TeacherConfig(**settings["config"]), api=settings.get("api"))
        if not isinstance(teacher, LLMTeacher):
            raise ConfigError(f"the {settings['teacher']} teacher does not use the engine")
        return cls(settings, teacher, {c: get_planner(c) for c in settings["categories"]})

    # -- the engine ------------------------------------------------------------------------------

    async def __aenter__(self) -> SceneRunner:
        from groundv.engine.cache import ResponseCache
        from groundv.engine.clients import make_client
        from groundv.engine.engine import Engine
        from groundv.engine.ledger import Ledger, Prices

        e = self.settings["engine"]
        client = make_client(self.teacher.api, e["base_url"], api_key_env=e["api_key_env"], timeout=e["timeout"])
        cache = ResponseCache(e["cache"]) if e["cache"] else None
        ledger = Ledger(e["ledger"], Prices(*e["prices"]), max_cost=e["max_cost"], max_requests=e["max_requests"])
        self.engine = Engine(client, cache=cache, ledger=ledger, concurrency=e["concurrency"],
                             max_retries=e["max_retries"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.engine is not None:
            await self.engine.aclose()
            if self.engine.cache is not None:
                self.engine.cache.close()
            self.engine = None

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send one request through this runner's engine, counting what came back."""
        if self.engine is None:
            raise RuntimeError("open the runner with `async with` first")
        try:
            return self.count(await self.engine.chat(request))
        except GroundvError as error:
            # The run stops at its first failure, before this scene's other requests are sent; a model
            # that never writes JSON is the teacher's rejection to make, not a failure of the run.
            if not isinstance(error, EngineStopped) and not getattr(error, "answer_unusable", False):
                self.engine.stop(error)
            raise

    def count(self, response: ChatResponse) -> ChatResponse:
        """Add one answer to :attr:`counts`; returns it."""
        self.counts["requests"] += 1
        self.counts["cached"] += int(response.cached)
        self.counts["prompt_tokens"] += int(response.usage.get("prompt_tokens", 0))
        self.counts["completion_tokens"] += int(response.usage.get("completion_tokens", 0))
        return response

    # -- one scene -------------------------------------------------------------------------------

    def _plan(self, scene: Scene, todo: Sequence[str]) -> tuple[Any, list[tuple[UnitResult, list[Plan], Any]]]:
        """The scene's facts and, per category asked, its unit and plans (planned as the rules path does).

        Per image every category of the run is asked (see the module docstring); per plan and per unit, ``todo``.
        """
        from groundv.generate import unit_rng
        from groundv.render import load_image
        from groundv.tasks.facts import SceneFacts

        pixels = np.asarray(load_image(scene)) if scene.path is not None else None
        facts = SceneFacts(scene, pixels)
        units = []
        asked = self.settings["categories"] if self.teacher.config.batch == "image" else todo
        for category in asked:
            unit = UnitResult(scene.image_id, category)
            planner = self.planners[category]
            why = planner.unsupported(scene)
            if why is not None:
                unit.unsupported = why
                units.append((unit, [], None))
                continue
            rng = unit_rng(self.settings["seed"], scene.image_id, category)
            units.append((unit, planner.plan(scene, rng, limit=self.settings["plans_per_unit"], facts=facts), rng))
        return facts, units

    def _image(self, scene: Scene, units: Iterable[tuple[UnitResult, list[Plan], Any]]) -> bytes | None:
        if not self.teacher.config.vision or not any(plans for _, plans, _ in units):
            return None
        from groundv.teachers.marks import marked_png

        return marked_png(scene, self.teacher.config.image_size)

    def asks(self, scene: Scene, todo: Sequence[str]) -> list[ChatRequest]:
        """The first requests the scene's units would send (a dry run counts them; nothing is sent)."""
        _, units = self._plan(scene, todo)
        image = self._image(scene, units)
        return [ask.request for ask in self.teacher.scene_asks(
            scene, [(unit.category, plans, rng) for unit, plans, rng in units], image)]

    async def run(self, scene: Scene, todo: Sequence[str], seen: Iterable[str] = (), *,
                  chat: Any = None) -> list[UnitResult]:
        """The unit results of ``scene`` for the categories ``todo`` (in that order).

        Args:
            scene: the image and its regions.
            todo: categories whose units are not done yet.
            seen: instructions already accepted for this image (after a resume), for the duplicate check.
            chat: an async ``ChatRequest -> ChatResponse`` to use instead of the runner's engine.

        Raises:
            BudgetExhausted, TeacherUnavailable, TeacherRefused: from the engine; the scene then has no results,
                and the engine is stopped (:meth:`Engine.stop <groundv.engine.engine.Engine.stop>`): other
                scenes' answers on their way still arrive and are cached, nothing new is sent.
            EngineStopped: another scene failed first.
        """
        try:
            return await self._run(scene, todo, seen, chat)
        except Exception as error:
            if self.engine is not None and not isinstance(error, EngineStopped):
                self.engine.stop(error)
            raise

    async def _run(self, scene: Scene, todo: Sequence[str], seen: Iterable[str], chat: Any) -> list[UnitResult]:
        from groundv.generate import rejection_record
        from groundv.tasks.validate import Verdict, normalise, validate

        facts, units = self._plan(scene, todo)
        # Rendering the marks takes a while; other scenes' requests keep flowing meanwhile.
        image = await asyncio.to_thread(self._image, scene, units)
        send = self.chat if chat is None else (lambda request: self._counted(chat, request))

        def check(category: str) -> Any:
            record = self.teacher.record(category)

            def provisional(plan: Plan, output: TeacherOutput) -> str | None:
                verdict = validate(scene, plan, output, teacher=record, seen=None, scene_facts=facts)
                return None if verdict.ok else f"{verdict.reason} ({verdict.detail})"
            return provisional

        answered: list[list[Answer]] = await self.teacher.answer_scene(
            send, scene, [(unit.category, plans, rng) for unit, plans, rng in units], image=image,
            checks={unit.category: check(unit.category) for unit, plans, _ in units if plans})
        seen_set = {f"{scene.source}\x00{scene.image_id}\x00{normalise(text)}" for text in seen}
        # Validated in the run's category order (the duplicate check depends on it); per image, the
        # units asked only to repeat the first run's request are dropped here.
        kept = [(unit, plans, replies) for (unit, plans, _), replies in zip(units, answered, strict=True)
                if unit.category in todo]
        for unit, plans, replies in kept:
            record = self.teacher.record(unit.category)
            for index, (plan, answer) in enumerate(zip(plans, replies, strict=True)):
                usage = {"requests": answer.usage}
                extra = {"teacher": {k: v for k, v in record.items() if k not in ("name", "model", "prompt_version")},
                         "usage": usage}
                if answer.output is None:
                    self.counts["rejected"] += 1
                    invalid = Verdict(False, INVALID_ANSWER, None, str(answer.error))
                    rejection = rejection_record(scene, plan, None, invalid)
                    unit.rejections.append({**rejection, "raw": answer.raw, "teacher": record, "usage": usage})
                    continue
                verdict = validate(scene, plan, answer.output, teacher=record, seen=seen_set, index=index,
                                   provenance={"seed": self.settings["seed"], **extra}, scene_facts=facts)
                if verdict.ok and verdict.sample is not None:
                    self.counts["accepted"] += 1
                    unit.samples.append(verdict.sample.to_json())
                    unit.subtypes[plan.subtype] += 1
                else:
                    self.counts["rejected"] += 1
                    rejection = rejection_record(scene, plan, answer.output, verdict)
                    unit.rejections.append({**rejection, "teacher": record, "usage": usage})
        results = {unit.category: unit for unit, _, _ in kept}
        return [results[category] for category in todo]

    async def _counted(self, chat: Any, request: ChatRequest) -> ChatResponse:
        return self.count(await chat(request))


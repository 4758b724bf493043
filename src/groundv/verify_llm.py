"""The LLM second teacher: a model names the regions an instruction means, and the sample's targets are checked.

The verifier model never sees the sample's targets, response or plan. It is shown the scene's region
list (:func:`groundv.teachers.llm.region_list`: ``id``, ``category``, ``box``, nested ``parts``), with
``vision`` also the image with numbered set-of-marks overlays (:func:`groundv.teachers.marks.marked_png`),
and the sample's instruction, after two worked examples; it answers ``{"target_ids": [...], "unsure":
bool}`` — the ids the instruction refers to, ``[]`` when it refers to nothing in the image. The answer is
compared with the sample's ``target_ids`` as sets:

* ``agree``: the same set;
* ``disagree``: another set; the model's ids are kept in ``expected_ids``;
* ``unsure``: the model said ``"unsure": true``, or its answer stayed unusable (off-schema, ids that
  are no region of the image) after **one** feedback retry — the conversation continued with its own
  answer and what was wrong with it — or it never answered JSON within the engine's retries.

Requests go through :class:`groundv.engine.engine.Engine` — the transport, response cache, ledger and
AIMD concurrency that generation uses — so a verdict is never paid twice: a re-run (after deleting
``verdicts.jsonl``, say) is answered from the cache. :func:`run_verifier` keeps a window of samples in
flight and hands their verdicts back in sample order.

The prompt lives here, not in ``tasks/prompts/`` (whose loader checks the five category prompts'
shape); :data:`PROMPT_VERSION` is recorded with every verdict and is part of every request's cache key.

Example:
    >>> LLMVerifier("openai", "gpt-4o-mini").record()["prompt_version"]
    'verify/v1'
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from groundv.engine.request import ChatRequest, ChatResponse, image_part, text_part
from groundv.errors import ConfigError
from groundv.scene import Scene
from groundv.tasks.registry import check_schema
from groundv.teachers.llm import compact, region_list

if TYPE_CHECKING:
    from groundv.engine.engine import Engine

__all__ = ["LLM_VERIFIERS", "PROMPT_VERSION", "LLMVerdict", "LLMVerifier", "open_engine", "run_verifier"]

#: verifier names that ask a model, with the engine API each speaks
LLM_VERIFIERS: dict[str, str] = {"openai": "openai", "anthropic": "anthropic"}
#: recorded with every verdict; part of every request's cache key
PROMPT_VERSION = "verify/v1"

SYSTEM = (
    "You check a grounding dataset. You are given the regions of an image (objects and stuff, each with its "
    "parts; every region has an integer id, a category and a box [x, y, width, height] in pixels) and an "
    "instruction a user typed about the image. Name every region the instruction refers to, by id: all of "
    "them when it says 'all' or uses a plural, a part's own id when it asks for a part, and an empty list "
    "when it refers to nothing in the image (something absent, a colour, size or relation no region has). "
    "Judge from the instruction alone. If the regions do not let you decide, set \"unsure\" to true. Reply "
    "with one JSON object {\"target_ids\": [id, ...], \"unsure\": true|false} and nothing else."
)
# The LLM teachers' sentence, copied on purpose: a change to theirs must not silently change verify/v1.
_VISION_NOTE = ("The image shows every region outlined in its own colour and labelled with its id "
                "(a part's id is written ·id).")
SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["target_ids", "unsure"], "additionalProperties": False,
    "properties": {"target_ids": {"type": "array", "items": {"type": "integer"}}, "unsure": {"type": "boolean"}},
}
#: worked examples, sent as earlier turns: (regions, instruction, answer)
EXAMPLES: tuple[tuple[list[dict[str, Any]], str, dict[str, Any]], ...] = (
    ([{"id": 3, "category": "dog", "box": [10, 40, 120, 90], "parts": [{"id": 31, "category": "dog:tail",
                                                                     "box": [110, 60, 20, 12]}]},
      {"id": 5, "category": "dog", "box": [200, 50, 100, 80], "parts": []},
      {"id": 8, "category": "sofa", "box": [0, 20, 320, 160], "parts": []}],
     "Segment every dog in the picture.", {"target_ids": [3, 5], "unsure": False}),
    ([{"id": 1, "category": "cup", "box": [40, 60, 30, 40], "parts": []},
      {"id": 2, "category": "table", "box": [0, 90, 320, 150], "parts": []}],
     "Where is the bicycle?", {"target_ids": [], "unsure": False}),
)


def _turn(regions: Sequence[Mapping[str, Any]], instruction: str) -> str:
    return f"Regions:\n{compact(list(regions))}\n\nInstruction:\n{compact(instruction)}"


def _ids(scene: Scene) -> set[int]:
    return {int(r.id) for r in scene.regions}


@dataclass(frozen=True)
class LLMVerdict:
    """An LLM verifier's answer for one sample.

    Attributes:
        verdict: ``agree``, ``disagree`` or ``unsure``.
        expected_ids: the ids the model named (sorted); None when unsure.
        detail: one sentence on what was found.
        answer: the model's last answer text (None when nothing was asked).
        usage: every request the verdict took: ``{"key", "prompt_tokens", "completion_tokens", "mode"}``.
    """

    verdict: str
    expected_ids: list[int] | None
    detail: str
    answer: str | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)


class LLMVerifier:
    """Asks a chat model which regions a sample's instruction means (see the module docstring).

    Args:
        name: ``openai`` (any OpenAI-compatible endpoint) or ``anthropic``.
        model: the model name the endpoint knows.
        params: sampling parameters sent with every request (``temperature``, ``max_tokens``).
        vision: send the image with numbered set-of-marks overlays.
        image_size: the longer side of that image, in pixels.

    Raises:
        ConfigError: an unknown verifier or no model.
    """

    def __init__(self, name: str, model: str | None, *, params: Mapping[str, Any] | None = None,
                 vision: bool = False, image_size: int = 768) -> None:
        if name not in LLM_VERIFIERS:
            raise ConfigError(f"unknown LLM verifier {name!r}", hint=f"use one of: {', '.join(LLM_VERIFIERS)}")
        if not model:
            raise ConfigError(f"the {name} verifier needs a model", hint="pass --model NAME")
        self.name, self.api, self.model = name, LLM_VERIFIERS[name], model
        self.params = dict(params or {})
        self.vision, self.image_size = vision, image_size

    def __repr__(self) -> str:
        return f"LLMVerifier({self.name!r}, {self.model!r}, vision={self.vision})"

    def record(self) -> dict[str, Any]:
        """The verifier as recorded in each verdict; runs with another record verdict the samples again."""
        return {"name": self.name, "model": self.model, "prompt_version": PROMPT_VERSION, "api": self.api,
                "params": dict(self.params), "vision": self.vision,
                "image_size": self.image_size if self.vision else None}

    def request(self, sample: Mapping[str, Any], scene: Scene, image: bytes | None = None) -> ChatRequest:
        """The first question about ``sample`` (nothing is sent)."""
        history: list[dict[str, Any]] = []
        for regions, instruction, answer in EXAMPLES:
            history.append({"role": "user", "content": _turn(regions, instruction)})
            history.append({"role": "assistant", "content": compact(answer)})
        text = _turn(region_list(scene), str(sample.get("instruction", "")))
        content: Any = text if image is None else [image_part(image), text_part(f"{_VISION_NOTE}\n\n{text}")]
        return ChatRequest(self.model, SYSTEM, (*history, {"role": "user", "content": content}), SCHEMA,
                           dict(self.params), PROMPT_VERSION, tag={"sample": sample.get("id")})

    @staticmethod
    def parse(text: str, scene: Scene) -> list[int] | str | None:
        """The ids an answer names (sorted), None for an explicit "unsure", or why the answer is unusable."""
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return f"the answer is not valid JSON ({exc})"
        if why := check_schema(value, SCHEMA):
            return f"the answer does not match the schema: {why}"
        if value["unsure"]:
            return None
        unknown = sorted({int(i) for i in value["target_ids"]} - _ids(scene))
        if unknown:
            return f"ids {unknown} are not regions of this image"
        return sorted({int(i) for i in value["target_ids"]})

    async def check(self, chat: Callable[[ChatRequest], Awaitable[ChatResponse]], sample: Mapping[str, Any],
                    scene: Scene | None, image: bytes | None = None) -> LLMVerdict:
        """The verdict on one sample (a ``samples-*.jsonl`` record) against its image's scene.

        Args:
            chat: the engine's ``chat``.
            sample: the sample record.
            scene: its image's scene, None when the source no longer has it (unsure, nothing asked).
            image: the set-of-marks PNG when ``vision`` is on.

        Raises:
            BudgetExhausted, TeacherRefused, TeacherUnavailable: from the engine (an endpoint that never
                answered JSON is an ``unsure`` verdict instead).
        """
        from groundv.engine.failures import TeacherUnavailable

        if scene is None:
            return LLMVerdict("unsure", None, "the image is not in the dataset's source")
        request = self.request(sample, scene, image)
        usage: list[dict[str, Any]] = []
        text: str | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await chat(request)
            except TeacherUnavailable as exc:
                if exc.status not in ("bad json", "length"):
                    raise
                return LLMVerdict("unsure", None, f"the model gave no JSON answer: {exc.message}", text, usage)
            text = response.text
            usage.append({"key": request.key(), "prompt_tokens": int(response.usage.get("prompt_tokens", 0)),
                          "completion_tokens": int(response.usage.get("completion_tokens", 0)),
                          "mode": response.mode})
            got = self.parse(text, scene)
            if got is None:
                return LLMVerdict("unsure", None, f"the {self.model} verifier is unsure", text, usage)
            if isinstance(got, list):
                return self._compare(sample, got, text, usage)
            if attempt == 2:
                return LLMVerdict("unsure", None, f"no usable answer after the feedback retry: {got}", text, usage)
            note = (f"Your answer was not accepted: {got}. Reply again with the corrected JSON only: "
                    '{"target_ids": [id, ...], "unsure": true|false}.')
            request = ChatRequest(request.model, request.system,
                                  (*request.messages, {"role": "assistant", "content": text},
                                   {"role": "user", "content": note}),
                                  request.schema, request.params, request.prompt_version,
                                  tag={**request.tag, "retry": True})

    def _compare(self, sample: Mapping[str, Any], named: list[int], text: str,
                 usage: list[dict[str, Any]]) -> LLMVerdict:
        have = sorted({int(i) for i in sample.get("target_ids") or []})
        if named == have:
            return LLMVerdict("agree", named, f"the {self.model} verifier names the same targets {named}", text, usage)
        return LLMVerdict("disagree", named, f"the sample targets {have}, the {self.model} verifier names {named}",
                          text, usage)


def open_engine(api: str, llm: Mapping[str, Any], directory: Path) -> Engine:
    """The :class:`~groundv.engine.engine.Engine` for a verifier, from ``verify``'s ``llm`` options.

    Defaults: the provider's API URL; the key from ``$OPENAI_API_KEY`` / ``$ANTHROPIC_API_KEY`` when set
    (else none: a local server); the cache ``DIR/teacher-cache.sqlite`` — the one generation uses, so one
    file holds every answer about the dataset (keys differ by prompt version, so they never collide);
    the ledger ``DIR/verifier-ledger.jsonl``, apart from generation's, so ``--max-cost`` caps
    verification alone. The caller closes the engine and its cache.

    Raises:
        ConfigError: an option the engine does not know, or an unset API key variable.
    """
    from groundv.engine.cache import ResponseCache
    from groundv.engine.clients import default_key_env, make_client
    from groundv.engine.engine import Engine
    from groundv.engine.ledger import Ledger, Prices
    from groundv.generate import DEFAULT_BASE_URLS

    known = {"model", "params", "vision", "image_size", "base_url", "api_key_env", "cache", "ledger", "prices",
             "max_cost", "max_requests", "concurrency", "timeout", "max_retries"}
    if unknown := sorted(set(llm) - known):
        raise ConfigError(f"unknown LLM verifier options: {', '.join(unknown)}",
                          hint=f"known: {', '.join(sorted(known))}")
    key_env = llm.get("api_key_env") or default_key_env(api)
    client = make_client(api, llm.get("base_url") or DEFAULT_BASE_URLS[api], api_key_env=key_env,
                         timeout=float(llm.get("timeout", 60.0)))
    cache = ResponseCache(llm.get("cache") or directory / "teacher-cache.sqlite")
    ledger = Ledger(llm.get("ledger") or directory / "verifier-ledger.jsonl", Prices(*llm.get("prices", (0.0, 0.0))),
                    max_cost=llm.get("max_cost"), max_requests=llm.get("max_requests"))
    return Engine(client, cache=cache, ledger=ledger, concurrency=int(llm.get("concurrency", 16)),
                  max_retries=int(llm.get("max_retries", 6)))


def run_verifier(verifier: LLMVerifier, engine: Engine, samples: Iterable[Mapping[str, Any]],
                 scenes: Mapping[Any, Scene], emit: Callable[[Mapping[str, Any], LLMVerdict], None], *,
                 window: int | None = None) -> None:
    """Verdict ``samples`` concurrently through ``engine``, calling ``emit(sample, verdict)`` in sample order.

    Args:
        verifier: the LLM verifier.
        engine: an open :class:`~groundv.engine.engine.Engine` (its client is closed at the end).
        samples: the samples to verdict, in the order they are emitted.
        scenes: the scene of each image id (a missing one: ``unsure``).
        emit: called once per sample, in order, as soon as it and every sample before it are verdicted.
        window: the most samples in flight (default: four times the engine's concurrency).

    Raises:
        BudgetExhausted: the cost or request cap was reached (verdicts finished in order are emitted
            first; requests in flight still arrive and are cached).
        TeacherUnavailable, TeacherRefused: the endpoint failed (likewise, in-flight requests are cancelled).
    """
    size = window or max(4, 4 * engine.limiter.limit)
    asyncio.run(_drive(verifier, engine, samples, scenes, emit, size))


async def _drive(verifier: LLMVerifier, engine: Engine, samples: Iterable[Mapping[str, Any]],
                 scenes: Mapping[Any, Scene], emit: Callable[[Mapping[str, Any], LLMVerdict], None],
                 window: int) -> None:
    from groundv.engine.ledger import BudgetExhausted

    pending: deque[tuple[Mapping[str, Any], asyncio.Task[LLMVerdict]]] = deque()
    # Samples of one image are contiguous in a shard: keep its marked picture while they pass.
    picture: tuple[Any, bytes | None] = (object(), None)

    async def settle(limit: int) -> None:
        while pending and (pending[0][1].done() or len(pending) > limit):
            sample, task = pending.popleft()
            emit(sample, await task)

    try:
        for sample in samples:
            scene = scenes.get(sample["image"]["id"])
            image = None
            if verifier.vision and scene is not None:
                if picture[0] != scene.image_id:
                    from groundv.teachers.marks import marked_png

                    picture = (scene.image_id, marked_png(scene, verifier.image_size))
                image = picture[1]
            pending.append((sample, asyncio.create_task(verifier.check(engine.chat, sample, scene, image))))
            await settle(window)
        await settle(0)
    except BudgetExhausted as stop:
        await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
        stop.settle()  # the answers in flight have landed: say what was paid in the end
        raise
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
        await engine.aclose()

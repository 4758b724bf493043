"""The offline second teacher: re-derive every sample's targets from its recorded facts and compare.

A sample records its ``plan`` (category, subtype, facts; :mod:`groundv.tasks.plan`). The
:class:`RulesVerifier` re-derives, from those facts and the scene alone — never calling a planner —
which regions the instruction means, and compares that with the sample's ``target_ids``:

* ``agree``: the same set of ids;
* ``disagree``: a different set; the verifier's answer is kept in ``expected_ids``;
* ``unsure``: the facts cannot be re-derived (unknown subtype, image not in the source, a colour
  unknown, a category with crowd regions or not exhaustively annotated, ...).

Names in facts are display names; a region is "of" a name when its display name or its
``knowledge.category_key`` is the name's. Crowd regions are never targets; a category with a crowd
region or listed in ``scene.not_exhaustive`` cannot be re-derived as "all the X" (``unsure``).

=================  ==============  ===============================================================
category           subtype         expected targets
=================  ==============  ===============================================================
negative           object          none; the absent category must be in ``scene.absent`` and
                                   nothing present is it, is one of it (``knowledge.is_a``) or
                                   shares a phrasing with it (synonyms, a part's bare name) — else
                                   ``disagree`` with the present regions as expected (``unsure``
                                   when nothing present is it but the absence is not verified)
                   attribute       none; no instance of the category has the value (SceneFacts
                                   colours/sizes) — else the instances that have it
                   relation        none; no subject/object instance pair holds the relation
                                   (``knowledge.relate``) — else the subject instances that do
multi_object       category        every non-crowd instance of the category
                   categories      every instance of each category
                   attribute       every instance of the category with that colour/size
reasoning          affordance      every region (object or part) whose category affords the
                                   phrase (``knowledge.categories_for``, ``knowledge.is_a``)
multi_granularity  instance        the instance of the category the expression singles out (one of
                                   its ``knowledge.distinctions``, or "the X" when it is alone);
                                   none or several found: ``disagree``
                   category        every instance of the category
                   supercategory   every instance of every present object category under the
                                   hypernym
part               one             the part of that name on the object singled out by
                                   ``object_expression`` (the only object of its category when None)
                   all             every part of that name on every object of the category (on
                                   every object when ``object`` is None)
=================  ==============  ===============================================================

Parts with an empty mask or a crowd flag are not counted as visible parts.

The LLM verifiers (``openai``, ``anthropic``: :mod:`groundv.verify_llm`) instead ask a model which
regions the instruction means, and compare its answer with ``target_ids`` the same way.

:func:`verify` writes one line per sample to ``DIR/verdicts.jsonl``, in sample order: ``id``,
``verdict``, ``verifier`` (its name; an LLM verifier's model, prompt version and settings too),
``expected_ids``, ``detail``, ``category``, and for an LLM verifier the model's ``answer`` and ``usage``
(every request: key, tokens, structured-output mode). The file is append-only and holds every
verifier's verdicts; a run skips the samples the same verifier (same record) already verdicted, so it is
resumable, and a corrupt line (or a sample that breaks the sample contract) is reported and skipped. A
last line torn by a killed run is closed before the next verdict is appended
(:func:`groundv.store.append_line`). Readers take a sample's last verdict (the review app shows it).
:func:`verify` can also write the samples the verifier agrees with to a new folder (never the dataset
itself).

Example:
    >>> make_verifier("rules").name
    'rules'
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from groundv import knowledge
from groundv.errors import ConfigError, GroundvWarning, InputError
from groundv.sample import Sample
from groundv.scene import Scene
from groundv.store import append_line, read_lenient
from groundv.tasks.facts import SceneFacts

if TYPE_CHECKING:
    from groundv.verify_llm import LLMVerifier

__all__ = ["VERDICTS", "VERDICTS_FILE", "VERIFIERS", "RulesVerifier", "SampleVerdict", "VerifySummary",
           "make_verifier", "verify"]

#: the three verdicts, in report order
VERDICTS: tuple[str, ...] = ("agree", "disagree", "unsure")
#: where :func:`verify` writes its verdicts, inside the dataset folder
VERDICTS_FILE = "verdicts.jsonl"
#: the verifiers: the offline rules, and the LLM verifiers of :mod:`groundv.verify_llm`
VERIFIERS: tuple[str, ...] = ("rules", "openai", "anthropic")

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_RELATION = {"left of": "left of", "right of": "right of", "above": "above", "below": "below",
             "to the left of": "left of", "to the right of": "right of"}


class _Unsure(Exception):
    """The facts cannot be re-derived; the message says why."""


@dataclass(frozen=True)
class SampleVerdict:
    """A verifier's answer for one sample.

    Attributes:
        verdict: ``agree``, ``disagree`` or ``unsure``.
        expected_ids: the targets the verifier derived (sorted); None when unsure.
        detail: one sentence on what was found.
    """

    verdict: str
    expected_ids: list[int] | None
    detail: str


@dataclass
class VerifySummary:
    """What :func:`verify` did.

    Attributes:
        verdicts: path of ``verdicts.jsonl``.
        new: verdicts written by this run, per verdict.
        total: verdicts in the file after this run (earlier runs included), per verdict.
        by_category: ``{category: {verdict: n}}`` over the whole file.
        skipped_existing: samples already verdicted, not redone.
        corrupt: ``(where, why)`` of every corrupt line (in the samples or the verdicts file), skipped.
        kept: samples written by ``drop_disagreeing`` (None when not asked).
        out: the folder they went to.
    """

    verdicts: Path
    new: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    by_category: dict[str, Counter[str]] = field(default_factory=dict)
    skipped_existing: int = 0
    corrupt: list[tuple[str, str]] = field(default_factory=list)
    kept: int | None = None
    out: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"verdicts": str(self.verdicts), "new": dict(self.new), "total": dict(self.total),
                "by_category": {c: dict(v) for c, v in self.by_category.items()},
                "skipped_existing": self.skipped_existing, "corrupt": [list(c) for c in self.corrupt],
                "kept": self.kept, "out": None if self.out is None else str(self.out)}


def _norm(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


class RulesVerifier:
    """Re-derives a sample's targets from its plan facts and the scene (module table).

    Example:
        >>> RulesVerifier().check({"plan": {"category": "negative", "subtype": "poem"}}, None).verdict
        'unsure'
    """

    name = "rules"

    def record(self) -> dict[str, Any]:
        """The verifier as recorded in each verdict."""
        return {"name": self.name}

    def check(self, sample: Mapping[str, Any], scene: Scene | None, *,
              pixels: np.ndarray | None = None) -> SampleVerdict:
        """The verdict on one sample (a ``samples-*.jsonl`` record) against its image's scene.

        Args:
            sample: the sample record.
            scene: the scene of its image, None when the source no longer has it.
            pixels: the image (H×W×3 uint8), to name colours the source does not give.
        """
        plan = sample.get("plan") or {}
        category, subtype = plan.get("category"), plan.get("subtype")
        derive = _RULES.get((str(category), str(subtype)))
        if derive is None:
            return SampleVerdict("unsure", None, f"no rule for {category}/{subtype}")
        if scene is None:
            return SampleVerdict("unsure", None, "the image is not in the dataset's source")
        facts = plan.get("facts")
        if not isinstance(facts, Mapping):
            return SampleVerdict("unsure", None, "the sample records no plan facts")
        try:
            expected, detail = derive(_Ctx(scene, SceneFacts(scene, pixels)), facts)
        except _Unsure as why:
            return SampleVerdict("unsure", None, str(why))
        got = sorted({int(i) for i in sample.get("target_ids") or []})
        want = sorted(set(expected))
        if got == want:
            return SampleVerdict("agree", want, detail)
        return SampleVerdict("disagree", want, f"{detail}; the sample targets {got}, the verifier finds {want}")


class _Ctx:
    """A scene with its facts, and name lookups."""

    def __init__(self, scene: Scene, facts: SceneFacts) -> None:
        self.scene, self.f = scene, facts

    def keys(self, name: Any) -> list[str]:
        """Object category keys present under the display name ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise _Unsure(f"the facts name no category ({name!r})")
        wanted, key = name.strip().lower(), knowledge.category_key(name)
        return [k for k in self.f.groups if k == key or self.f.names[k].lower() == wanted]

    def all_of(self, name: Any) -> list[int]:
        """Every instance of the category ``name``; unsure when "all" cannot be re-derived."""
        keys = self.keys(name)
        if not keys:
            return []
        for k in keys:
            if not self.f.safe_for_all(k):
                raise _Unsure(f"{name!r} has a crowd region or is not exhaustively annotated")
        return [i for k in keys for i in self.f.targets(k)]

    def singled_out(self, name: Any, expression: Any) -> list[int]:
        """The instances of ``name`` that ``expression`` singles out (None: the only instance)."""
        keys = self.keys(name)
        ids = [i for k in keys for i in self.f.groups[k]]
        if expression is None or (isinstance(expression, str) and _norm(expression) in
                                  {_norm(f"the {name}"), _norm(str(name))}):
            if any(not self.f.safe_for_all(k) for k in keys):
                raise _Unsure(f"{name!r} has a crowd region or is not exhaustively annotated")
            if len(ids) == 1:
                return ids
            if expression is None:
                return ids  # several (or none): "the X" singles nothing out
        said = _norm(str(expression))
        return [i for i in ids if not self.f.regions[i].crowd
                and said in {_norm(d.phrase) for d in knowledge.distinctions(self.scene, i)}]

    def value(self, region_id: int, attribute: str) -> Any:
        if attribute not in ("color", "size"):
            raise _Unsure(f"unknown attribute {attribute!r}")
        have = getattr(self.f.regions[region_id], attribute)
        if have is None:
            raise _Unsure(f"region {region_id} has no known {attribute}")
        return have


#: a re-derivation: (scene context, plan facts) -> (expected ids, detail)
Rule = Callable[[_Ctx, Mapping[str, Any]], tuple[list[int], str]]


def _negative_object(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    name = facts.get("absent")
    if not isinstance(name, str) or not name.strip():
        raise _Unsure("the facts name no absent category")
    key = knowledge.category_key(name)
    mine = {name.lower(), *(s.lower() for s in knowledge.synonyms(name))}
    present = []
    for r in c.f.regions.values():
        theirs = {r.name.lower(), *(s.lower() for s in knowledge.synonyms(r.category))}
        if r.key == key or knowledge.is_a(r.category, name) or mine & theirs:
            present.append(r.id)
    if present:
        return present, f"{name!r} is present (or something that is one / is called so)"
    if not any(knowledge.category_key(a) == key or knowledge.display_name(a).lower() == name.lower()
               for a in c.scene.absent):
        raise _Unsure(f"{name!r} is not present but not verified absent either")
    return [], f"{name!r} is verified absent and nothing present is it"


def _negative_attribute(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    attribute, value = str(facts.get("attribute")), facts.get("value")
    if not isinstance(value, str):
        raise _Unsure("the facts give no value")
    ids = c.all_of(facts.get("category"))
    if not ids:
        raise _Unsure(f"{facts.get('category')!r} is not in the image")
    having = [i for i in ids if str(c.value(i, attribute)).lower() == value.lower()]
    return having, f"{len(having)} of {len(ids)} {facts.get('category')} instances have {attribute} {value!r}"


def _negative_relation(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    predicate = _RELATION.get(str(facts.get("relation")))
    if predicate is None:
        raise _Unsure(f"unknown relation {facts.get('relation')!r}")
    subjects, objects = c.all_of(facts.get("subject")), c.all_of(facts.get("object"))
    if not subjects or not objects:
        raise _Unsure(f"{facts.get('subject')!r} or {facts.get('object')!r} is not in the image")
    region = c.scene.region
    holding = [s for s in subjects
               if any(s != o and predicate in knowledge.relate(region(s), region(o)) for o in objects)]
    return holding, f"{len(holding)} {facts.get('subject')} instances are {predicate} a {facts.get('object')}"


def _multi_category(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    ids = c.all_of(facts.get("category"))
    return ids, f"every {facts.get('category')}: {len(ids)}"


def _multi_categories(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    names = facts.get("categories")
    if not isinstance(names, list) or not names:
        raise _Unsure("the facts list no categories")
    ids = [i for n in names for i in c.all_of(n)]
    return ids, f"every {' and '.join(map(str, names))}: {len(ids)}"


def _multi_attribute(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    attribute, value = str(facts.get("attribute")), facts.get("value")
    if not isinstance(value, str):
        raise _Unsure("the facts give no value")
    ids = [i for i in c.all_of(facts.get("category"))
           if str(c.value(i, attribute)).lower() == value.lower()]
    return ids, f"every {value} {facts.get('category')}: {len(ids)}"


def _reasoning(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    phrase = facts.get("affordance")
    if not isinstance(phrase, str) or not phrase.strip():
        raise _Unsure("the facts give no affordance")
    keys = knowledge.categories_for(phrase)
    ids = []
    for r in c.f.regions.values():
        canonical = knowledge.canonical(r.category)
        if not (canonical in keys or any(knowledge.is_a(r.category, k) for k in keys if ":" not in k)):
            continue
        if r.crowd or r.category in c.scene.not_exhaustive or (r.kind == "object" and not c.f.safe_for_all(r.key)):
            raise _Unsure(f"{r.category!r} affords it but has a crowd region or is not exhaustively annotated")
        ids.append(r.id)
    return ids, f"{len(ids)} regions are something {phrase}"


def _instance(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    expression = facts.get("expression")
    if not isinstance(expression, str):
        raise _Unsure("the facts give no expression")
    ids = c.singled_out(facts.get("category"), expression)
    if len(ids) == 1:
        return ids, f"{expression!r} singles out region {ids[0]}"
    return ids, f"{expression!r} singles out {len(ids)} regions, not one"


def _supercategory(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    hypernym = facts.get("hypernym")
    if not isinstance(hypernym, str) or not hypernym.strip():
        raise _Unsure("the facts give no hypernym")
    keys = [k for k in c.f.groups if knowledge.is_a(c.f.regions[c.f.groups[k][0]].category, hypernym)]
    ids = [i for k in keys for i in c.all_of(c.f.names[k])]
    return ids, f"every {hypernym}: {len(ids)} instances of {len(keys)} categories"


def _parts(c: _Ctx, object_id: int, part: str) -> list[int]:
    return [pid for pid in c.f.parts_of(object_id)
            if c.f.regions[pid].name.lower() == part.lower() and not c.f.regions[pid].crowd
            and c.f.regions[pid].box is not None]


def _part_one(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    part = facts.get("part")
    if not isinstance(part, str):
        raise _Unsure("the facts name no part")
    objects = c.singled_out(facts.get("object"), facts.get("object_expression"))
    if len(objects) != 1:
        return [], f"the object expression singles out {len(objects)} objects, not one"
    ids = _parts(c, objects[0], part)
    return ids, f"region {objects[0]} has {len(ids)} {part}"


def _part_all(c: _Ctx, facts: Mapping[str, Any]) -> tuple[list[int], str]:
    part = facts.get("part")
    if not isinstance(part, str):
        raise _Unsure("the facts name no part")
    if facts.get("object") is not None:
        objects = c.all_of(facts.get("object"))
    else:
        owners = {c.f.regions[p].parent_id for p in c.f.regions
                  if c.f.regions[p].kind == "part" and c.f.regions[p].name.lower() == part.lower()}
        objects = [i for k in {c.f.regions[o].key for o in owners if o is not None}
                   for i in c.all_of(c.f.names[k])]
    ids = [p for o in objects for p in _parts(c, o, part)]
    return ids, f"{len(ids)} {part} parts on {len(objects)} objects"


_RULES: dict[tuple[str, str], Rule] = {
    ("negative", "object"): _negative_object,
    ("negative", "attribute"): _negative_attribute,
    ("negative", "relation"): _negative_relation,
    ("multi_object", "category"): _multi_category,
    ("multi_object", "categories"): _multi_categories,
    ("multi_object", "attribute"): _multi_attribute,
    ("reasoning", "affordance"): _reasoning,
    ("multi_granularity", "instance"): _instance,
    ("multi_granularity", "category"): _multi_category,
    ("multi_granularity", "supercategory"): _supercategory,
    ("part", "one"): _part_one,
    ("part", "all"): _part_all,
}


def make_verifier(name: str, llm: Mapping[str, Any] | None = None) -> RulesVerifier | LLMVerifier:
    """The verifier called ``name`` (:data:`VERIFIERS`).

    Args:
        name: ``rules``, or an LLM verifier (``openai``, ``anthropic``).
        llm: an LLM verifier's options (``model`` required; ``params``, ``vision``, ``image_size``; the
            engine's options are :func:`groundv.verify_llm.open_engine`'s). Not for ``rules``.

    Raises:
        ConfigError: an unknown verifier, LLM options for ``rules``, or an LLM verifier without a model.
    """
    if name == "rules":
        if llm:
            raise ConfigError("the rules verifier takes no LLM options",
                              hint="use --teacher openai or --teacher anthropic with --model")
        return RulesVerifier()
    if name in VERIFIERS:
        from groundv.verify_llm import LLMVerifier

        options = llm or {}
        return LLMVerifier(name, options.get("model"), params=options.get("params"),
                           vision=bool(options.get("vision", False)), image_size=int(options.get("image_size", 768)))
    raise ConfigError(f"unknown verifier teacher {name!r}", hint=f"choose one of: {', '.join(VERIFIERS)}")


def _pixels(scene: Scene) -> np.ndarray | None:
    if scene.path is None:
        return None
    from groundv.render import load_image

    return np.asarray(load_image(scene))


def _collect(corrupt: list[tuple[str, str]]) -> Callable[[str, str], None]:
    return lambda where, why: corrupt.append((where, why))


def verify(directory: str | Path, *, teacher: str = "rules", llm: Mapping[str, Any] | None = None,
           drop_disagreeing: str | Path | None = None, force: bool = False,
           progress: Callable[[int, int], None] | None = None) -> VerifySummary:
    """Verdict every sample of a dataset folder not verdicted yet by this verifier, into ``DIR/verdicts.jsonl``.

    Args:
        directory: a dataset folder from ``groundv generate``.
        teacher: the verifier (:data:`VERIFIERS`).
        llm: an LLM verifier's options (see :func:`make_verifier`); the cache defaults to the dataset's
            ``teacher-cache.sqlite`` (generation's), the ledger to ``verifier-ledger.jsonl``.
        drop_disagreeing: a folder to write with only the agreeing samples (``samples-00000.jsonl`` and a
            ``manifest.json`` with the counts redone and a ``verified`` note), a dataset like any other.
        force: write into a non-empty ``drop_disagreeing`` folder (never the dataset itself); a dataset
            there is replaced, its reviews, verdicts and test split moved to ``replaced-<time>/`` in it.
        progress: called with (samples verdicted, samples to verdict) after each verdict is written.

    Returns:
        A :class:`VerifySummary` (this verifier's verdicts only).

    Raises:
        ConfigError: an unknown verifier, ``max_cost`` without prices, an output folder that is the
            dataset itself or is not empty without ``force``, or a manifest recording no source to reopen.
        InputError: the folder holds no samples.
        BudgetExhausted, TeacherUnavailable, TeacherRefused: an LLM verifier's endpoint or budget stopped
            the run; the verdicts written so far stay, and the same call resumes.
    """
    verifier = make_verifier(teacher, llm)
    if teacher != "rules":
        from groundv.engine.runner import check_budget

        check_budget((llm or {}).get("max_cost"), (llm or {}).get("prices", (0.0, 0.0)))
    who = verifier.record()
    directory = Path(directory)
    out_dir = None
    if drop_disagreeing is not None:
        out_dir = _filtered_out(directory, Path(drop_disagreeing), force)
    summary = VerifySummary(directory / VERDICTS_FILE)
    files = sorted(directory.glob("samples-*.jsonl"))
    if not files:
        raise InputError("no samples-*.jsonl here", file=directory, hint="pass a folder written by groundv generate")
    done: dict[str, dict[str, Any]] = {}
    if summary.verdicts.is_file():
        for _, record in read_lenient(summary.verdicts, _collect(summary.corrupt)):
            if record.get("verdict") not in VERDICTS:
                summary.corrupt.append((str(summary.verdicts), f"id {record['id']}: unknown verdict"))
            elif record.get("verifier") == who:
                done[record["id"]] = record
    read = [(path, item) for path in files for item in read_lenient(path, _collect(summary.corrupt))]
    lines = [item for path, item in read if _keeps_contract(path, item[1], summary.corrupt)]
    todo = [s for _, s in lines if s["id"] not in done]
    summary.skipped_existing = len(lines) - len(todo)
    if todo:
        from groundv.export.base import open_dataset_source, scenes_for

        scenes = scenes_for(open_dataset_source(directory), {s["image"]["id"] for s in todo})

        def emit(s: Mapping[str, Any], result: Any) -> None:
            record = {"id": s["id"], "verdict": result.verdict, "verifier": who,
                      "expected_ids": result.expected_ids, "detail": result.detail, "category": s.get("category")}
            if not isinstance(verifier, RulesVerifier):
                record |= {"answer": result.answer, "usage": {"requests": result.usage}}
            # a torn last line (a killed run) is closed first, so this verdict is not lost in it
            append_line(summary.verdicts, orjson.dumps(record), sync=False)
            done[s["id"]] = record
            summary.new[result.verdict] += 1
            if progress is not None:
                progress(sum(summary.new.values()), len(todo))

        if isinstance(verifier, RulesVerifier):
            _run_rules(verifier, todo, scenes, emit)
        else:
            from groundv.verify_llm import open_engine, run_verifier

            engine = open_engine(verifier.api, llm or {}, directory)
            try:
                run_verifier(verifier, engine, todo, scenes, emit)
            finally:
                engine.cache.close()
    categories = {s["id"]: s.get("category") for _, s in lines}
    for sid, record in done.items():
        summary.total[record["verdict"]] += 1
        category = str(categories.get(sid) or record.get("category") or "?")
        summary.by_category.setdefault(category, Counter())[record["verdict"]] += 1
    if out_dir is not None:
        kept = [(line, s) for line, s in lines if done.get(s["id"], {}).get("verdict") == "agree"]
        (out_dir / "samples-00000.jsonl").write_bytes(b"".join(line for line, _ in kept))
        _write_filtered_manifest(directory, out_dir, [s for _, s in kept], len(read), who)
        summary.kept, summary.out = len(kept), out_dir
    return summary


def _keeps_contract(path: Path, record: dict[str, Any], corrupt: list[tuple[str, str]]) -> bool:
    """Whether a sample record keeps the sample contract; if not, it is listed in ``corrupt`` (where,
    why) to be skipped, as the exporters do."""
    try:
        Sample.from_json(record)
    except InputError as exc:
        corrupt.append((f"{path}: sample {record['id']}", f"not a valid sample ({exc.reason})"))
        return False
    return True


def _filtered_out(directory: Path, out: Path, force: bool) -> Path:
    """The ``drop_disagreeing`` folder, ready to be written: never the dataset being verified; a dataset
    already there is replaced as ``generate --force`` replaces one (:func:`groundv.store.clear_dataset`:
    its reviews, verdicts and test split are moved aside, never lost).

    Raises:
        ConfigError: ``out`` is the dataset itself, or is not empty and ``force`` is not set.
    """
    from groundv.export.base import prepare_out
    from groundv.store import MANIFEST, clear_dataset

    if out.exists() and out.resolve() == directory.resolve():
        raise ConfigError(f"{out} is the dataset being verified: writing the agreeing samples there would "
                          "delete the others for good", hint="choose another folder for --drop-disagreeing")
    if force and (out / MANIFEST).is_file():
        moved_to = clear_dataset(out)
        if moved_to is not None:
            warnings.warn(f"{out} held reviews, verdicts or a test split of the dataset it replaces: they were "
                          f"moved, with that dataset, to {moved_to}", GroundvWarning, stacklevel=3)
    return prepare_out(out, force=force, dataset=directory)


def _run_rules(verifier: RulesVerifier, todo: list[dict[str, Any]], scenes: Mapping[Any, Scene],
               emit: Callable[[Mapping[str, Any], SampleVerdict], None]) -> None:
    """The rules verdicts of ``todo``, in order (pixels are read only for attribute samples)."""
    pixel_cache: dict[Any, np.ndarray | None] = {}
    for s in todo:
        scene = scenes.get(s["image"]["id"])
        pixels = None
        if scene is not None and (s.get("plan") or {}).get("subtype") == "attribute":
            if scene.image_id not in pixel_cache:
                pixel_cache[scene.image_id] = _pixels(scene)
            pixels = pixel_cache[scene.image_id]
        emit(s, verifier.check(s, scene, pixels=pixels))


def _write_filtered_manifest(directory: Path, out_dir: Path, kept: list[dict[str, Any]], total: int,
                             verifier: Mapping[str, Any]) -> None:
    """The source dataset's manifest, its counts redone for the kept samples and its source paths made
    absolute, so ``stats``, ``show``, ``export`` and ``items`` read the filtered folder like any dataset."""
    from groundv.store import MANIFEST, read_manifest

    data = read_manifest(directory).data
    source = dict(data["settings"].get("source") or {})
    for key in ("path", "images", "masks"):
        if isinstance(source.get(key), str) and not Path(source[key]).is_absolute():
            source[key] = str((directory / source[key]).resolve())
    if isinstance(source.get("parts"), list):
        source["parts"] = [p if Path(p).is_absolute() else str((directory / p).resolve()) for p in source["parts"]]
    data["settings"] = {**data["settings"], "source": source}
    counts = Counter(s.get("category") for s in kept)
    subtypes: dict[str, Counter[str]] = {}
    for s in kept:
        subtypes.setdefault(str(s.get("category")), Counter())[str(s.get("subtype"))] += 1
    for category, entry in data.get("by_category", {}).items():
        entry["samples"] = counts.get(category, 0)
        entry["subtypes"] = dict(sorted(subtypes.get(category, Counter()).items()))
    data["samples"] = len(kept)
    data["files"] = {**data.get("files", {}), "samples": ["samples-00000.jsonl"], "rejections": []}
    data["verified"] = {"from": str(directory.resolve()), "verifier": verifier["name"],
                        **{k: verifier[k] for k in ("model", "prompt_version") if k in verifier}, "kept": len(kept),
                        "dropped": total - len(kept)}
    (out_dir / MANIFEST).write_bytes(orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))

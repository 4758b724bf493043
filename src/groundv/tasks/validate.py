"""The one validator every teacher's answer passes before it becomes a :class:`~groundv.sample.Sample`.

:func:`validate` checks a :class:`~groundv.teachers.base.TeacherOutput` against the scene and the plan
it words, and returns a :class:`Verdict`: the sample when it passes, else the first failed check's
reason code (rejections are written with it, never dropped silently). Checks run in the table's order.

=====================  ========================================================================
reason                 rejected when
=====================  ========================================================================
``empty_text``         the instruction or the response is blank
``no_target_mismatch`` a ``negative`` answer names targets, or another category's answer (or
                       plan) names none
``unknown_target``     a target id is not a region of the scene
``crowd_target``       a target is a crowd region (a group, never a target of its own)
``wrong_kind``         ``part`` targets must all be part regions; ``reasoning`` may target objects
                       or parts (a seat is something to sit on); every other category's targets
                       must be objects or stuff, never parts
``targets_disagree``   the answer's target ids differ from the plan's (compared as sets)
``too_few_targets``    ``multi_object`` (and ``part``/``all``) with fewer than 2 targets
``count_mismatch``     the plan's ``count`` fact differs from the number of targets
``not_absent``         a negative's claim is false: ``object`` — the named category is not
                       verified absent (``scene.absent``) or it, a synonym of it, or something
                       that is one (``knowledge.is_a``) is present; ``attribute`` — an instance
                       has the value (the planners' colour/size, or the region's ``attributes``),
                       or some instance's value is unknown; ``relation`` — a subject instance
                       stands in the relation to an object instance (``knowledge.relate``)
``not_unique``         ``multi_granularity``/``instance``: not one target, or the expression is
                       not a way ``knowledge.distinctions`` singles it out (nor the bare category
                       when it is alone); ``part``/``one``: the ``object_expression`` does not
                       single out the parent object likewise; ``part``/``all`` with an
                       ``object``: the parts lie on one object while the image has several of
                       its category ("every leg of the dog" beside a second dog)
``empty_mask``         the union of the targets' masks is empty
``facts_unsaid``       the instruction does not mention a fact the plan asks it to express (below)
``not_refused``        a ``negative``'s response does not refuse: no clause of it (split at ``.;:!?,``
                       and dashes) holds both an absence cue ("no", "not", "n't", "none",
                       "nothing", "without", "absent", "missing", "unable", ...) and the missing
                       thing (``object``: the absent category; ``attribute``: the value;
                       ``relation``: the subject), or it leaves out a name the instruction must
                       say (the category of an ``attribute``, the object of a ``relation``)
``denies_targets``     a response to a plan with targets says there is nothing: "there is no",
                       "there's nothing", "I can't find/see", "nothing to segment", "is not in
                       this image" and the like (plain "not" is allowed: "just the handle, not
                       the whole mug")
``duplicate``          the same image already has this instruction (normalised: lower case,
                       punctuation removed, whitespace collapsed) in ``seen``
=====================  ========================================================================

What ``facts_unsaid`` asks the instruction to mention (after :func:`normalise`, as whole words):

=============================  ==================================================================
category/subtype               must mention
=============================  ==================================================================
``negative/object``            the absent category
``negative/attribute``         the value (colour or size word) and the category
``negative/relation``          the subject, the relation and the object
``multi_object/category``      the category
``multi_object/categories``    every category
``multi_object/attribute``     the value and the category
``multi_granularity/*``        the category (``instance``, ``category``), the hypernym
                               (``supercategory``)
``part/one``, ``part/all``     the part, and the object when the plan names one
``reasoning/affordance``       nothing: the use is paraphrased freely ("to sit on", "somewhere to
                               sit") and the targets are never named, so there is no word to require
=============================  ==================================================================

A category counts as mentioned by its display name, a :func:`~groundv.knowledge.synonyms` entry, or
either with a plural ending (``knowledge.plural`` for irregular ones: "knives"). Outside negatives
the last word of a multi-word name also counts when the taxonomy says the name is one
(``knowledge.is_a("wine glass", "glass")``; never "bear" for "teddy bear"); a negative must name
its category fully, since a broader word may well be present. Values accept a few plain variants
("grey"/"gray", "big" for "large", "little"/"tiny" for "small"), relations their usual words
("left", "right", "over"/"on top of", "under"/"beneath"). Mentioning is necessary, not sufficient:
"the orange car" mentions an absent orange. The same names, with the absence cue in the same clause,
are what ``not_refused`` asks of a negative's response ("Sure, here it is, segmented." is rejected).

Example:
    >>> normalise("  Segment   the MUG!! ")
    'segment the mug'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from groundv import knowledge, masks
from groundv.sample import Sample, sample_id
from groundv.scene import Region, Scene
from groundv.tasks.facts import SceneFacts
from groundv.tasks.plan import Plan
from groundv.teachers.base import TeacherOutput

__all__ = ["REASONS", "Verdict", "normalise", "validate"]

#: every reason code, in the order the checks run
REASONS: tuple[str, ...] = (
    "empty_text", "no_target_mismatch", "unknown_target", "crowd_target", "wrong_kind", "targets_disagree",
    "too_few_targets", "count_mismatch", "not_absent", "not_unique", "empty_mask", "facts_unsaid",
    "not_refused", "denies_targets", "duplicate",
)

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_RELATION = {"left of": "left of", "right of": "right of", "above": "above", "below": "below",
             "to the left of": "left of", "to the right of": "right of"}
#: words that say a relation (keys are the predicates of ``_RELATION``)
_RELATION_SAID: dict[str, tuple[str, ...]] = {
    "left of": ("left",), "right of": ("right",),
    "above": ("above", "over", "on top of", "atop", "higher than"),
    "below": ("below", "under", "beneath", "underneath", "lower than"),
}
#: plain variants of a colour or size value
_VALUE_SAID: dict[str, tuple[str, ...]] = {
    "gray": ("grey",), "grey": ("gray",), "large": ("big", "huge"), "small": ("little", "tiny"),
}
#: where a response splits into clauses: a refusal must deny the thing in the same clause, so that
#: "Sure, here is the lamp, nothing else." does not pass on its "nothing"
_CLAUSE = re.compile(r"[.;:!?,]|\s[-–—]+\s|[–—]")
#: words that say something is not there (run on lower case text with straight apostrophes)
_ABSENCE = re.compile(r"\b(?:no|not|none|nothing|nowhere|neither|nor|never|cannot|unable|absent|missing|"
                      r"without|lacks?|lacking|zero)\b|n't\b")
#: phrases that say an image holds nothing to segment; plain "not" is no denial ("only the handle, not
#: the whole mug"), so only these count against a response whose plan has targets
_DENIAL = re.compile(
    r"\bthere(?:'s| is| are)(?: not| no| nothing)\b|\bthere (?:isn't|aren't)\b"
    r"|\bnothing (?:to|i can) (?:segment|highlight|mark|outline|show|find)\b|\bno such\b"
    r"|\b(?:can't|cannot|can not|couldn't|could not|don't|do not|didn't|did not|unable to) "
    r"(?:find|see|locate|spot|segment|detect|identify)\b"
    r"|\b(?:is|are)(?: not|n't) (?:present|visible|shown|in (?:this|the) (?:image|picture|photo|scene))\b"
    r"|\b(?:doesn't|does not|don't|do not) (?:contain|show|include)\b"
    r"|\bnone (?:here|in (?:this|the) (?:image|picture|photo))\b")


@dataclass(frozen=True)
class Verdict:
    """The validator's answer.

    Attributes:
        ok: the answer passed every check.
        reason: the first failed check's code (module table), None when ok.
        sample: the accepted sample, None when rejected.
        detail: a human-readable sentence on what was found.
    """

    ok: bool
    reason: str | None
    sample: Sample | None
    detail: str = ""


def normalise(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed: the duplicate key of an instruction."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _reject(reason: str, detail: str) -> Verdict:
    return Verdict(False, reason, None, detail)


def _same_name(category: str, name: str) -> bool:
    """Whether a region's raw category is the category called ``name`` (a display name) in facts."""
    return (knowledge.display_name(category).lower() == name.lower()
            or knowledge.category_key(category) == knowledge.category_key(name))


def _regions_named(scene: Scene, name: str) -> list[Region]:
    return [r for r in scene.regions if r.kind != "part" and not r.iscrowd and _same_name(r.category, name)]


def _absent_problem(scene: Scene, facts: Mapping[str, Any]) -> str | None:
    name = str(facts.get("absent") or "").strip()
    if not name:
        return "the plan names no absent category"
    if not any(_same_name(raw, name) for raw in scene.absent):
        return f"{name!r} is not verified absent from this image"
    names = {name.lower(), *(s.lower() for s in knowledge.synonyms(name))}
    for present in sorted(scene.present_categories):
        if _same_name(present, name) or knowledge.is_a(present, name):
            return f"{name!r} is present as {present!r}"
        said = {knowledge.display_name(present).lower(), *(s.lower() for s in knowledge.synonyms(present))}
        if names & said:
            return f"{name!r} may be read as the present {present!r} (shared name {sorted(names & said)[0]!r})"
    return None


def _attribute_problem(scene: Scene, facts: Mapping[str, Any], scene_facts: SceneFacts | None) -> str | None:
    category, attribute, value = facts.get("category"), facts.get("attribute"), facts.get("value")
    if not (category and attribute and value):
        return "the plan lacks category, attribute or value"
    for r in _regions_named(scene, str(category)):
        if scene_facts is not None and r.id in scene_facts.regions:
            # The same colours the planners saw: the source's attribute, else named from the pixels.
            have = getattr(scene_facts.regions[r.id], str(attribute), None)
        else:
            have = r.attributes.get(attribute)
            if have is None and attribute == "color":
                have = r.attributes.get("colour")
        if have is None:
            return f"region {r.id} ({r.category}) has no known {attribute}, so 'none is {value}' cannot be checked"
        values = have if isinstance(have, list | tuple | set | frozenset) else [have]
        if any(isinstance(v, str) and v.lower() == str(value).lower() for v in values):
            return f"region {r.id} ({r.category}) has {attribute} {value!r}"
    return None


def _relation_problem(scene: Scene, facts: Mapping[str, Any]) -> str | None:
    subject, relation, obj = facts.get("subject"), facts.get("relation"), facts.get("object")
    predicate = _RELATION.get(str(relation))
    if not (subject and obj and predicate):
        return f"the plan lacks subject/object or names an unknown relation {relation!r}"
    subjects, objects = _regions_named(scene, str(subject)), _regions_named(scene, str(obj))
    if not subjects or not objects:
        return f"{subject!r} or {obj!r} is not in the image"
    for s in subjects:
        for o in objects:
            if s.id != o.id and predicate in knowledge.relate(s, o):
                return f"region {s.id} ({s.category}) is {predicate} region {o.id} ({o.category})"
    return None


def _singles_out(scene: Scene, region_id: int, expression: str | None, name: str | None) -> bool:
    phrases = {normalise(d.phrase) for d in knowledge.distinctions(scene, region_id)}
    if expression is None:
        return knowledge.group(scene, region_id) == (region_id,)
    said = normalise(expression)
    if said in phrases:
        return True
    if knowledge.group(scene, region_id) == (region_id,):
        region = scene.region(region_id)
        bare = {normalise(knowledge.display_name(region.category))}
        if name:
            bare.add(normalise(name))
        return said in bare | {f"the {b}" for b in bare}
    return False


def _unique_problem(scene: Scene, plan: Plan, ids: tuple[int, ...]) -> str | None:
    facts = plan.facts
    if plan.category == "multi_granularity" and plan.subtype == "instance":
        if len(ids) != 1:
            return f"an instance plan needs one target, got {len(ids)}"
        expression = facts.get("expression")
        if not _singles_out(scene, ids[0], str(expression) if expression else None, facts.get("category")):
            return f"{expression!r} does not single out region {ids[0]}"
    if plan.category == "part" and plan.subtype == "all" and facts.get("object"):
        parents = {scene.region(i).parent_id for i in ids}
        if len(parents) == 1 and len(_regions_named(scene, str(facts["object"]))) >= 2:
            return (f"the parts lie on one of several {facts['object']!r} objects (region {min(parents)}), "
                    f"so 'the {facts['object']}' does not say which")
    if plan.category == "part" and plan.subtype == "one":
        if len(ids) != 1:
            return f"a one-part plan needs one target, got {len(ids)}"
        parent = scene.region(ids[0]).parent_id
        if parent is None:
            return f"region {ids[0]} has no parent object"
        expression = facts.get("object_expression")
        if not _singles_out(scene, parent, str(expression) if expression else None, facts.get("object")):
            what = repr(expression) if expression else "the bare object name"
            return f"{what} does not single out the parent object {parent}"
    return None


def _said(words: str, phrase: str) -> bool:
    """Whether the normalised ``phrase`` occurs in the normalised ``words`` as whole words, its last word
    optionally with a plural ending (-s, -es, -y → -ys/-ies)."""
    tokens = normalise(phrase).split()
    if not tokens:
        return False
    last = tokens[-1]
    ending = rf"{re.escape(last[:-1])}(?:y|ys|ies)" if last.endswith("y") else rf"{re.escape(last)}(?:s|es)?"
    pattern = r"\s".join([*(re.escape(t) for t in tokens[:-1]), ending])
    return re.search(rf"(?<!\w){pattern}(?!\w)", words) is not None


def _names_of(name: str, *, head: bool) -> list[str]:
    """Ways to say the category ``name``: display name, synonyms, irregular plurals and, with ``head``,
    the last word of a multi-word name when the taxonomy says the name is one."""
    said = [name, knowledge.display_name(name), *knowledge.synonyms(name)]
    out = [name, knowledge.plural(name), *said, *(knowledge.plural(s) for s in said)]
    if head:
        *rest, last = name.split()
        if rest and knowledge.is_a(name, last):
            out.append(last)
    return list(dict.fromkeys(p for p in out if p.strip()))


def _missing(words: str, what: str, phrases: list[str]) -> str | None:
    return None if any(_said(words, p) for p in phrases) else f"{what} ({' / '.join(phrases[:4])})"


def _unsaid_problem(plan: Plan, instruction: str) -> str | None:
    """What the instruction fails to mention of the plan's facts (module table), None when all is said."""
    facts, words = plan.facts, normalise(instruction)
    negative = plan.category == "negative"

    def category(key: str, what: str | None = None) -> str | None:
        value = str(facts.get(key) or "").strip()
        return _missing(words, f"the {what or key} {value!r}", _names_of(value, head=not negative)) if value else None

    def value() -> str | None:
        said = str(facts.get("value") or "").strip()
        if not said:
            return None
        return _missing(words, f"the {facts.get('attribute') or 'value'} {said!r}",
                        [said, *_VALUE_SAID.get(said.lower(), ())])

    checks: list[str | None] = []
    kind = f"{plan.category}/{plan.subtype}"
    if kind == "negative/object":
        checks = [category("absent", "absent category")]
    elif kind in ("negative/attribute", "multi_object/attribute"):
        checks = [value(), category("category")]
    elif kind == "negative/relation":
        relation = _RELATION.get(str(facts.get("relation")), str(facts.get("relation") or ""))
        checks = [category("subject"),
                  _missing(words, f"the relation {relation!r}", list(_RELATION_SAID.get(relation, (relation,)))),
                  category("object")]
    elif kind in ("multi_object/category", "multi_granularity/instance", "multi_granularity/category"):
        checks = [category("category")]
    elif kind == "multi_object/categories":
        checks = [_missing(words, f"the category {str(c)!r}", _names_of(str(c), head=True))
                  for c in facts.get("categories") or []]
    elif kind == "multi_granularity/supercategory":
        checks = [category("hypernym")]
    elif plan.category == "part":
        checks = [category("part"), category("object")]
    missing = [c for c in checks if c]
    return "the instruction does not mention " + "; ".join(missing) if missing else None


def _plain(text: str) -> str:
    """Lower case with straight apostrophes (``n't`` must survive, so no :func:`normalise`)."""
    return text.lower().replace("\u2019", "'").replace("`", "'")


def _refusal_problem(plan: Plan, response: str) -> str | None:
    """Why a negative's response fails to refuse (module table, ``not_refused``), None when it refuses."""
    facts = plan.facts

    def names(key: str) -> list[str]:
        value = str(facts.get(key) or "").strip()
        if key == "value":
            return [value, *_VALUE_SAID.get(value.lower(), ())] if value else []
        return _names_of(value, head=False) if value else []

    # the thing the refusal must deny, and the names it must say besides
    main, rest = {"object": ("absent", ()), "attribute": ("value", ("category",)),
                  "relation": ("subject", ("object",))}.get(plan.subtype, ("", ()))
    if not main:
        return None
    denied = names(main)
    clauses = [normalise(c) for c in _CLAUSE.split(_plain(response)) if _ABSENCE.search(c)]
    if not any(_said(c, p) for c in clauses for p in denied):
        return (f"the response does not refuse: no clause of it says the {main} {facts.get(main)!r} is not "
                f"there (an absence cue with {' / '.join(denied[:4])})")
    words = normalise(response)
    unsaid = [_missing(words, f"the {k} {facts.get(k)!r}", names(k)) for k in rest if names(k)]
    missing = [u for u in unsaid if u]
    return "the response does not mention " + "; ".join(missing) if missing else None


def _denial_problem(response: str) -> str | None:
    """The phrase by which a response to a plan with targets says there is nothing, None when none."""
    found = _DENIAL.search(_plain(response))
    return f"the response says {found.group(0)!r}, but the plan has targets" if found else None


def validate(scene: Scene, plan: Plan, output: TeacherOutput, *, teacher: Mapping[str, Any],
             seen: set[str] | None = None, index: int = 0,
             provenance: Mapping[str, Any] | None = None, scene_facts: SceneFacts | None = None) -> Verdict:
    """Check a teacher's answer to ``plan`` against ``scene``; build the sample when it passes.

    Args:
        scene: the image and its regions.
        plan: what the teacher was asked to word.
        output: the teacher's answer.
        teacher: ``{"name", "model", "prompt_version"}``, recorded in the sample.
        seen: duplicate keys of the samples already accepted (updated in place on acceptance); None
            skips the duplicate check.
        index: the plan's position among the image's plans of its category (goes into the id).
        provenance: free-form extras recorded in the sample (work unit, seed, ...).
        scene_facts: the planners' :class:`~groundv.tasks.facts.SceneFacts` of this scene, so that
            colours named from pixels are checked with the same values the planner used.

    Returns:
        A :class:`Verdict`; reason codes are listed in the module docstring.

    Raises:
        ValueError: ``teacher`` lacks ``name``, ``model`` or ``prompt_version`` (a programming error).
    """
    missing = [k for k in ("name", "model", "prompt_version") if k not in teacher]
    if missing:
        raise ValueError(f"teacher record lacks {', '.join(missing)}")
    instruction, response = output.instruction.strip(), output.response.strip()
    if not instruction or not response:
        return _reject("empty_text", "the instruction is blank" if not instruction else "the response is blank")
    ids = tuple(output.target_ids)
    if plan.category == "negative" and (ids or plan.target_ids):
        return _reject("no_target_mismatch", f"a negative must have no target, got {list(ids or plan.target_ids)}")
    if plan.category != "negative" and not (ids and plan.target_ids):
        return _reject("no_target_mismatch", f"a {plan.category} sample needs targets, got none")
    unknown = [i for i in ids if i not in scene]
    if unknown:
        return _reject("unknown_target", f"ids {unknown} are not regions of image {scene.image_id}")
    regions = [scene.region(i) for i in ids]
    crowd = [r.id for r in regions if r.iscrowd]
    if crowd:
        return _reject("crowd_target", f"regions {crowd} are crowd regions")
    if plan.category == "part":
        wrong = [(r.id, r.kind) for r in regions if r.kind != "part"]
        want = "part"
    elif plan.category == "reasoning":
        wrong = []
        want = "any"
    else:
        wrong = [(r.id, r.kind) for r in regions if r.kind == "part"]
        want = "object or stuff"
    if wrong:
        return _reject("wrong_kind", f"{plan.category} targets must be {want} regions, got {wrong}")
    if set(ids) != set(plan.target_ids):
        return _reject("targets_disagree", f"the answer names {sorted(set(ids))}, the plan "
                                           f"{sorted(set(plan.target_ids))}")
    if len(set(ids)) < 2 and (plan.category == "multi_object"
                              or (plan.category == "part" and plan.subtype == "all")):
        return _reject("too_few_targets", f"{plan.category}/{plan.subtype} needs at least 2 targets, "
                                          f"got {len(set(ids))}")
    count = plan.facts.get("count")
    if isinstance(count, int) and ids and count != len(set(ids)):
        return _reject("count_mismatch", f"the plan says {count}, but there are {len(set(ids))} targets")
    if plan.category == "negative":
        if plan.subtype == "attribute":
            problem = _attribute_problem(scene, plan.facts, scene_facts)
        else:
            check = {"object": _absent_problem, "relation": _relation_problem}.get(plan.subtype)
            problem = check(scene, plan.facts) if check else None
        if problem:
            return _reject("not_absent", problem)
    problem = _unique_problem(scene, plan, ids)
    if problem:
        return _reject("not_unique", problem)
    mask = scene.union_mask(ids)
    if ids and masks.is_empty(mask):
        return _reject("empty_mask", f"regions {list(ids)} have empty masks")
    problem = _unsaid_problem(plan, instruction)
    if problem:
        return _reject("facts_unsaid", problem)
    if plan.category == "negative":
        problem = _refusal_problem(plan, response)
        if problem:
            return _reject("not_refused", problem)
    else:
        problem = _denial_problem(response)
        if problem:
            return _reject("denies_targets", problem)
    key = f"{scene.source}\x00{scene.image_id}\x00{normalise(instruction)}"
    if seen is not None and key in seen:
        return _reject("duplicate", f"image {scene.image_id} already has {instruction!r}")
    sample = Sample(
        id=sample_id(scene.source, scene.image_id, plan.category, index, instruction),
        image=scene.image_record(), category=plan.category, instruction=instruction, response=response,
        target_ids=list(dict.fromkeys(ids)), no_target=not ids, mask=mask,
        teacher={k: teacher[k] for k in ("name", "model", "prompt_version")},
        subtype=plan.subtype, level=plan.level, plan=plan.to_json(), provenance=dict(provenance or {}))
    if seen is not None:
        seen.add(key)
    return Verdict(True, None, sample, "ok")


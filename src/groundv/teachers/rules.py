"""The offline teacher: words a plan from templates, with no network and no weights.

:class:`RulesTeacher` picks one instruction template and one response template per plan with the
work unit's rng (so a seeded rng gives the same text), fills them from the plan's ``facts`` (see the
table in :mod:`groundv.tasks.plan`) and returns the plan's own targets. Grammar is handled here:
``a``/``an``, plurals through :func:`groundv.knowledge.plural`, small counts in words, lists joined
with "and". Safe synonyms (:func:`groundv.knowledge.synonyms` minus hypernyms, colour words and
names of other categories in the scene) sometimes replace a target's category in the instruction.

Responses are natural text in the style grounding models are trained on: a short answer naming what
is segmented ("Sure — here are the three chairs."), an explanation for reasoning, the level for
multi_granularity, and a clear refusal saying what is not there for negatives. Exporters add model
tokens such as ``[SEG]`` later.

Missing optional facts fall back to what the scene and the targets say (a count from the targets, a
category from the first target's region, no ``object_expression`` → "the <object>").

Example:
    >>> import numpy as np
    >>> from groundv.tasks.plan import Plan
    >>> from groundv.scene import Scene
    >>> out = RulesTeacher().respond(Scene(1, "a.jpg", 4, 4, "demo"),
    ...                              Plan("negative", "object", (), {"absent": "zebra"}),
    ...                              np.random.default_rng(0))
    >>> "zebra" in out.response, out.target_ids
    (True, ())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from groundv import knowledge
from groundv.scene import Scene
from groundv.tasks.plan import Plan
from groundv.teachers.base import Teacher, TeacherOutput

__all__ = ["TEMPLATES", "RulesTeacher", "article", "join", "number_word"]

_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve")
_AN_EXCEPTIONS = ("uni", "use", "usu", "one", "once", "eu", "ewe", "uk")
_A_EXCEPTIONS_AN = ("hour", "honest", "honor", "heir")
#: hypernyms that are mass nouns: "all the furniture", never "furnitures"
_MASS = frozenset({"furniture", "kitchenware", "tableware", "food", "clothing", "equipment", "luggage",
                   "cutlery", "scenery", "natural scenery", "sports equipment", "electronics",
                   "produce", "footwear", "headwear", "jewelry", "stationery", "hardware", "housing",
                   "vegetation", "wildlife", "livestock", "baggage", "cookware", "dinnerware"})
_RELATION_WORDS = {"left of": "to the left of", "right of": "to the right of", "above": "above",
                   "below": "below", "next to": "next to"}


def number_word(n: int) -> str:
    """``3`` → ``"three"`` up to twelve, digits above."""
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


def article(phrase: str) -> str:
    """``phrase`` with ``a`` or ``an`` in front (``"an apple"``, ``"a unicorn"``, ``"an hour"``).

    Example:
        >>> article("apple"), article("red apple"), article("umbrella"), article("uniform")
        ('an apple', 'a red apple', 'an umbrella', 'a uniform')
    """
    low = phrase.lower()
    if low.startswith(_A_EXCEPTIONS_AN):
        return f"an {phrase}"
    if low[:1] in "aeiou" and not low.startswith(_AN_EXCEPTIONS):
        return f"an {phrase}"
    return f"a {phrase}"


def join(items: Sequence[str], word: str = "and") -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _is_mass(name: str) -> bool:
    """An uncountable word: a mass hypernym ("furniture") or a mass category ("grass")."""
    return name.lower() in _MASS or knowledge.is_mass(name)


def _plural(name: str) -> str:
    return name if _is_mass(name) else knowledge.plural(name)


def _a(name: str) -> str:
    """``article(name)``, or the bare word for a mass noun ("grass", never "a grass")."""
    return name if _is_mass(name) else article(name)


def _possessive(owner: str) -> str:
    """``"mug"`` → ``"mug's"``, ``"mugs"`` → ``"mugs'"``, ``"people"`` → ``"people's"``."""
    return f"{owner}'" if owner.endswith("s") else f"{owner}'s"


def _noun(name: str, n: int) -> str:
    return name if n == 1 else _plural(name)


def _counted(name: str, n: int) -> str:
    """``"a mug"``, ``"two mugs"``, ``"grass"``."""
    return _a(name) if n == 1 else f"{number_word(n)} {_plural(name)}"


def _all(n: int) -> str:
    """``"both"`` for two, ``"all three"`` otherwise."""
    return "both" if n == 2 else f"all {number_word(n)}"


def _finish(text: str) -> str:
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".?!" else text + "."


def _clause(text: Any) -> str:
    """An explanation fact (a string or a list of clauses) as one clause without closing punctuation."""
    if isinstance(text, list | tuple):
        parts = [str(t).strip().rstrip(".;") for t in text if str(t).strip()]
        text = "; ".join(parts)
    text = str(text or "").strip().rstrip(".")
    if len(text) > 1 and text[1].isupper():  # an acronym ("TV ...") keeps its capitals
        return text
    return text[:1].lower() + text[1:]


def _the(expression: str) -> str:
    low = expression.lower()
    return expression if low.startswith(("the ", "a ", "an ", "this ", "that ")) else f"the {expression}"


# -- templates --------------------------------------------------------------------------------
# Each subtype has instruction and response templates (str.format with the fields built below).
# Keys ending in a count marker pick the singular/plural list where grammar needs it.

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "negative/object": {
        "instruction": (
            "Segment the {thing} in this image.",
            "Can you highlight the {thing}?",
            "Please show me where the {thing} is.",
            "Find {a_thing} in this picture.",
            "Where is the {thing} in this photo? Please segment it.",
            "Outline every {thing} you can see.",
            "Mark the {things} in the image.",
            "I'm looking for {a_thing} here — can you segment it?",
        ),
        "response": (
            "There is no {thing} in this image.",
            "I can't find {a_thing} here, so there is nothing to segment.",
            "Sorry, this picture doesn't contain any {things}.",
            "No {thing} appears in this image, so I can't segment one.",
            "There are no {things} here — nothing to highlight.",
        ),
    },
    "negative/attribute": {
        "instruction": (
            "Segment the {vc}.",
            "Can you find the {vc} in this picture?",
            "Highlight {a_vc} in the image.",
            "Where is the {vc}? Please outline it.",
            "Show me every {vc} here.",
            "Please mark the {vcs}.",
            "I need the {c} that is {v} — can you segment it?",
            "Segment any {c} that is {v}.",
        ),
        "response": (
            "There is no {vc} in this image; {here}.",
            "Sorry, I can't find {a_vc} — {here}.",
            "I can't segment {a_vc}: no {c} in this picture is {v} — {here_short}.",
            "Nothing to segment: {here}, not {v}.",
        ),
        "response_bare": (
            "There is no {vc} in this image.",
            "No {c} here is {v}, so there is nothing to segment.",
            "I can't find {a_vc} in this picture.",
        ),
    },
    "negative/relation": {
        "instruction": (
            "Segment the {s} {rel} {o_ref}.",
            "Find the {s} that is {rel} {o_ref}.",
            "Highlight any {s} {rel} {o_ref}.",
            "Which {s} is {rel} {o_ref}? Please segment it.",
            "Please outline the {ss} {rel} {o_ref}.",
            "Show me the {s} placed {rel} {o_ref}.",
            "Can you mask the {s} located {rel} {o_ref}?",
        ),
        "response": (
            "There is no {s} {rel} {o_ref} in this image.",
            "I don't see any {s} {rel} {o_ref}, so there is nothing to segment.",
            "No {s} in this picture is {rel} {o_ref}.",
            "Sorry — there {s_be} {s_count} and {o_count} here, but no {s} is {rel} {o_ref}.",
        ),
    },
    "multi_object/category": {
        "instruction": (
            "Segment all the {ws}.",
            "Highlight every {w} in this image.",
            "Can you find all of the {ws} in the picture?",
            "Please outline each {w} you can see.",
            "Where are the {ws}? Segment all of them.",
            "Mark every single {w} in this photo.",
            "Show me all {ws} here.",
            "I need masks for all the {ws} in this image.",
        ),
        "response": (
            "Sure — here are the {n} {cs}.",
            "I've segmented {all_n} {cs} in the image.",
            "Here they are: {n} {cs}, all highlighted.",
            "There are {n} {cs} in this picture, and all of them are segmented.",
        ),
    },
    "multi_object/categories": {
        "instruction": (
            "Segment all the {list_pl}.",
            "Highlight every {list_or}.",
            "Can you find the {list_pl} in this image?",
            "Please outline all {list_pl} you can see.",
            "Show me where the {list_pl} are.",
            "Mark each {list_or} in the picture.",
            "I need masks for all of the {list_pl}.",
        ),
        "response": (
            "Sure — here are {list_the}, {n} in total.",
            "{all_n} of them are segmented: {list_counted}.",
            "Here are {list_the} ({n} in all).",
            "I've highlighted {list_counted}.",
        ),
    },
    "multi_object/attribute": {
        "instruction": (
            "Segment all the {v} {ws}.",
            "Highlight every {v} {w} in this image.",
            "Can you find the {v} {ws}?",
            "Please outline each {w} that is {v}.",
            "Show me all {ws} that are {v}.",
            "Mark the {v} {ws} in the picture.",
            "Which {ws} are {v}? Segment them.",
        ),
        "response": (
            "Sure — here are the {n} {v} {cs}.",
            "I've highlighted the {n} {cs} that are {v}.",
            "There are {n} {v} {cs}; all of them are segmented.",
            "Here they are: the {v} {cs}, {n} in total.",
        ),
    },
    "reasoning/affordance": {
        "instruction": (
            "Segment something {a}.",
            "Find something in this picture {a}.",
            "Highlight anything {a}.",
            "I need something {a} — what in this image fits?",
            "Can you point out something {a} in this photo?",
            "Is there anything {a} here? Please mark it.",
            "Show me what I could pick if I wanted something {a}.",
            "Which things here would count as something {a}? Segment them.",
        ),
        "response": (
            "Sure — {targets} {fit}: {why}.",
            "I've segmented {targets}, because {why}.",
            "{targets} {be} what you are after: {why}.",
            "Here {be} {targets}; {why}.",
        ),
        "response_bare": (
            "Sure — {targets} {be} something {a}.",
            "I've segmented {targets}: {they} {be} something {a}.",
            "Here {be} {targets}, which {fit}.",
        ),
    },
    "multi_granularity/instance": {
        "instruction": (
            "Segment {e}.",
            "Can you highlight {e} in this image?",
            "Please outline {e}.",
            "Show me {e}.",
            "Mark {e} in the picture.",
            "I only want {e}; please segment it.",
            "Where is {e}? Segment it.",
        ),
        "instruction_many": (
            "Find {e} — only that single {c}, not the others.",
            "Segment {e}, not every {c}.",
        ),
        "response": (
            "Sure — here is {e}, segmented as a single instance.",
            "I've highlighted just that one {c}: {e}.",
            "Here is {e}; the mask covers this one {c} only.",
            "{e} is segmented, at the instance level.",
        ),
    },
    "multi_granularity/category": {
        "instruction": (
            "Segment every {w} in the image.",
            "Highlight all the {ws}, whatever they look like.",
            "Show me all the {ws} here.",
            "Please outline each {w} in this picture.",
            "Can you segment the {ws}, all of them?",
            "Mark everything that is {a_w}.",
            "Find every instance of {a_w} in this photo.",
        ),
        "response": (
            "Sure — at the category level, here {be} {all_n} {cs}.",
            "I've highlighted every {c} in the image — {n_total} in total.",
            "The {c} category is segmented as a whole: {n_cs}.",
            "Here is the whole {c} category: {n_cs}.",
        ),
    },
    "multi_granularity/supercategory": {
        "instruction": (
            "Segment {h_all}.",
            "Highlight {h_every} in this image.",
            "Show me {h_all} in this picture.",
            "Please outline {h_any} you can see.",
            "Segment everything that counts as {h_a}.",
            "Where {hs_be} the {hs}? Mark all of {them}.",
            "I want masks for {h_all} here.",
            "Highlight {h_all}, whatever kind {they_are}.",
        ),
        "response": (
            "Sure — here {be} {h_all}: {cats}.",
            "I've segmented {h_all}, {n} in total: {cats}.",
            "{h_all_cap} {be} highlighted — the whole {h} category, which here means {cats}.",
            "At the {h} level, the mask covers {cats}.",
        ),
    },
    "part/one": {
        "instruction": (
            "Segment {pp}.",
            "Can you highlight {pp}?",
            "Please outline just {pp}, not the whole {o}.",
            "Show me where {pp} is.",
            "Mark {pp} in this image.",
            "I only need {pp}; please segment it.",
            "Find {pp} in the picture.",
        ),
        "response": (
            "Sure — {pp} is highlighted.",
            "Here is {pp}; only that part is segmented, not the whole {o}.",
            "{pp} is segmented.",
            "I've outlined {pp}.",
        ),
    },
    "part/all": {
        "instruction": (
            "Segment all the {ps} {of_o}.",
            "Highlight every {p} {of_o}.",
            "Can you find each {p} {of_o}?",
            "Please outline the {ps} {of_o}, all of them.",
            "Show me every single {p} {of_o}.",
            "Mark all {ps} {of_o}.",
            "Where are the {ps} {of_o}? Segment them.",
        ),
        "response": (
            "Sure — here are {all_n} {ps} {of_o}.",
            "I've segmented the {n} {ps} {of_o}.",
            "{all_n} {ps} {of_o} are highlighted.",
            "Here they are: {n} {ps} {of_o}, each one segmented.",
        ),
    },
}


class RulesTeacher(Teacher):
    """Words any plan from :data:`TEMPLATES`; deterministic for a seeded rng.

    Example:
        >>> RulesTeacher.name, RulesTeacher.model
        ('rules', None)
    """

    name = "rules"
    model = None

    def respond(self, scene: Scene, plan: Plan, rng: np.random.Generator) -> TeacherOutput:
        """Word ``plan`` for ``scene``; ``raw["template"]`` names the templates used.

        Raises:
            ValueError: a category/subtype that has no templates.
        """
        key = f"{plan.category}/{plan.subtype}"
        build = _FIELDS.get(key)
        if build is None:
            raise ValueError(f"the rules teacher has no templates for {key!r}")
        fields, variant = build(scene, plan, rng)
        table = TEMPLATES[key]
        instructions = table["instruction"] + (table.get("instruction_many", ()) if "many" in variant else ())
        responses = table.get("response_bare", ()) if "bare" in variant else table["response"]
        i = int(rng.integers(len(instructions)))
        r = int(rng.integers(len(responses)))
        instruction = _finish(instructions[i].format(**fields))
        response = _finish(responses[r].format(**fields))
        rkind = "response_bare" if "bare" in variant else "response"
        return TeacherOutput(instruction=instruction, response=response, target_ids=tuple(plan.target_ids),
                             raw={"template": f"{key}/instruction{i}/{rkind}{r}"})


# -- fields per subtype -----------------------------------------------------------------------

_Fields = tuple[dict[str, Any], set[str]]


def _target_names(scene: Scene, plan: Plan) -> list[str]:
    out = []
    for i in plan.target_ids:
        if i in scene:
            out.append(knowledge.display_name(scene.region(i).category))
    return out


def _category(scene: Scene, plan: Plan, key: str = "category") -> str:
    value = plan.facts.get(key)
    if value:
        return str(value)
    names = _target_names(scene, plan)
    return names[0] if names else "object"


def _count(plan: Plan) -> int:
    count = plan.facts.get("count")
    return count if isinstance(count, int) and count > 0 else max(len(plan.target_ids), 1)


def _in_scene(scene: Scene, name: str) -> int:
    low, key = name.lower(), knowledge.category_key(name)
    return sum(1 for r in scene.regions if r.kind != "part" and not r.iscrowd
               and (knowledge.display_name(r.category).lower() == low or knowledge.category_key(r.category) == key))


def _safe_synonyms(scene: Scene, name: str) -> list[str]:
    """Synonyms that cannot mean something else here: no hypernyms, colour words or other categories."""
    own = knowledge.category_key(name)
    others = {knowledge.category_key(c) for c in scene.present_categories} - {own}
    others |= {knowledge.display_name(c).lower() for c in scene.present_categories
               if knowledge.category_key(c) != own}
    out = []
    for s in knowledge.synonyms(name)[1:]:
        low = s.lower()
        if (any(w in knowledge.BASIC_TERMS for w in low.split()) or knowledge.is_a(name, s)
                or knowledge.category_key(s) in others or low in others):
            continue
        out.append(s)
    return out


def _word(scene: Scene, name: str, rng: np.random.Generator) -> str:
    """The category name, or now and then (30 %) a safe synonym of it."""
    choices = _safe_synonyms(scene, name)
    if choices and rng.random() < 0.3:
        return choices[int(rng.integers(len(choices)))]
    return name


def _negative_object(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    thing = str(plan.facts.get("absent") or "object")
    if thing.endswith("s") and _plural(thing) == thing:
        # Plural-only nouns (skis, scissors) count in pairs: "a pair of skis", never "a skis".
        thing = f"pair of {thing}"
    return {"thing": thing, "things": _plural(thing), "a_thing": _a(thing)}, set()


def _negative_attribute(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    c = _category(scene, plan)
    v = str(plan.facts.get("value") or "different")
    present = [str(p) for p in plan.facts.get("present_values") or [] if str(p) != v]
    n = _in_scene(scene, c)
    vc = f"{v} {c}"
    fields = {"c": c, "v": v, "vc": vc, "vcs": _plural(vc), "a_vc": article(vc)}
    if not present:
        return fields, {"bare"}
    values = join(present)
    if n == 1:
        fields["here"] = f"the {c} here is {values}"
        fields["here_short"] = f"the only one is {values}"
    else:
        fields["here"] = f"the {_plural(c)} here are {values}"
        fields["here_short"] = f"they are {values}"
    return fields, set()


def _negative_relation(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    s = str(plan.facts.get("subject") or "object")
    o = str(plan.facts.get("object") or "object")
    relation = str(plan.facts.get("relation") or "next to")
    rel = _RELATION_WORDS.get(relation, relation)
    ns, no = max(_in_scene(scene, s), 1), max(_in_scene(scene, o), 1)
    o_ref = f"the {o}" if no == 1 else f"any {o}"
    return {"s": s, "ss": _plural(s), "rel": rel, "o_ref": o_ref, "s_be": "is" if ns == 1 else "are",
            "s_count": _counted(s, ns), "o_count": _counted(o, no)}, set()


def _multi_category(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    c = _category(scene, plan)
    w = _word(scene, c, rng)
    n = _count(plan)
    return {"c": c, "cs": _noun(c, n), "w": w, "ws": _plural(w), "n": number_word(n), "all_n": _all(n)}, set()


def _per_category(scene: Scene, plan: Plan, names: Sequence[str]) -> list[tuple[str, int]]:
    """How many targets each named category has (names the targets do not match count as 1)."""
    targets = [scene.region(i) for i in plan.target_ids if i in scene]
    out = []
    for name in names:
        low, key = name.lower(), knowledge.category_key(name)
        k = sum(1 for r in targets if low in (knowledge.display_name(r.category).lower(),
                                               knowledge.possessive_name(r.category).lower())
                or knowledge.category_key(r.category) == key)
        out.append((name, max(k, 1)))
    return out


def _multi_categories(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    names = [str(c) for c in plan.facts.get("categories") or []] or sorted(set(_target_names(scene, plan)))
    counts = _per_category(scene, plan, names)
    n = _count(plan)
    # the response knows the counts: "the ball and the dog", never "the balls and dogs" for one of each
    return {"list_pl": join([_plural(c) for c in names]), "list_or": join(names, "or"), "n": number_word(n),
            "all_n": _all(n), "list_the": join([f"the {_noun(c, k)}" for c, k in counts]),
            "list_counted": join([_counted(c, k) for c, k in counts])}, set()


def _multi_attribute(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    fields, variant = _multi_category(scene, plan, rng)
    fields["v"] = str(plan.facts.get("value") or "")
    return fields, variant


def _the_targets(scene: Scene, plan: Plan, name: str, k: int) -> str:
    """``"the chair"``, ``"the chairs"``; parts named with their owners agree with how many own them:
    ``"the mug's handles"`` on one mug, ``"the mugs' handles"`` on several."""
    if k == 1:
        return f"the {name}"
    low = name.lower()
    parts = [scene.region(i) for i in plan.target_ids if i in scene and scene.region(i).kind == "part"
             and knowledge.possessive_name(scene.region(i).category).lower() == low]
    names = knowledge.part_names(parts[0].category) if parts else None
    if names is None:
        return f"the {_plural(name)}"
    owner, part = names
    several = len({r.parent_id for r in parts}) >= 2
    return f"the {_possessive(_plural(owner) if several else owner)} {_plural(part)}"


def _reasoning(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    a = str(plan.facts.get("affordance") or "useful here")
    for lead in ("something ", "anything "):
        if a.lower().startswith(lead):
            a = a[len(lead):]
    names = [str(c) for c in plan.facts.get("categories") or []] or sorted(set(_target_names(scene, plan)))
    counts = _per_category(scene, plan, names)
    total = sum(k for _, k in counts)
    targets = join([_the_targets(scene, plan, c, k) for c, k in counts])
    why = _clause(plan.facts.get("explanation"))
    fields = {"a": a, "targets": targets, "why": why, "be": "is" if total == 1 else "are",
              "fit": "fits" if total == 1 else "fit", "they": "it" if total == 1 else "they"}
    return fields, set() if why else {"bare"}


def _instance(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    c = _category(scene, plan)
    expression = plan.facts.get("expression")
    e = _the(str(expression)) if expression else f"the {c}"
    return {"c": c, "e": e}, {"many"} if _in_scene(scene, c) >= 2 and expression else set()


def _granularity_category(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    c = _category(scene, plan)
    w = _word(scene, c, rng)
    n = _count(plan)
    return {"c": c, "cs": _noun(c, n), "w": w, "ws": _plural(w), "a_w": _a(w),
            "be": "is" if n == 1 else "are", "all_n": "the one" if n == 1 else _all(n),
            "n_cs": _counted(c, n), "n_total": f"{number_word(n)} {_noun(c, n)}"}, set()


def _supercategory(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    h = str(plan.facts.get("hypernym") or "thing")
    names = [str(c) for c in plan.facts.get("categories") or []] or sorted(set(_target_names(scene, plan)))
    counts = _per_category(scene, plan, names)
    n = _count(plan)
    mass = _is_mass(h)
    if mass:
        h_all, h_every, h_any, h_a, hs = f"all the {h}", f"all the {h}", f"any {h}", h, h
    else:
        hs = _plural(h)
        h_all = f"all the {hs}" if n != 1 else f"the {h}"
        h_every, h_any, h_a = f"every {h}", f"any {h}", article(h)
    return {"h": h, "hs": hs, "h_all": h_all, "h_all_cap": h_all[:1].upper() + h_all[1:], "h_every": h_every,
            "h_any": h_any, "h_a": h_a, "n": number_word(n), "be": "is" if n == 1 or mass else "are",
            # a mass hypernym takes the singular: "Where is the food? Mark all of it."
            "hs_be": "is" if mass else "are", "them": "it" if mass else "them",
            "they_are": "it is" if mass else "they are",
            "cats": join([_counted(c, k) for c, k in counts])}, set()


def _part_one(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    p = str(plan.facts.get("part") or "part")
    o = str(plan.facts.get("object") or "object")
    expression = plan.facts.get("object_expression")
    owner = _the(str(expression)) if expression else f"the {o}"
    pp = f"the {p} of {owner}"
    if not expression and rng.random() < 0.3:
        pp = f"the {o}'s {p}"
    return {"p": p, "o": o, "pp": pp}, set()


def _owners(scene: Scene, plan: Plan) -> list[tuple[str, bool]]:
    """The object categories owning the target parts, in order, each with whether "the" needs a plural
    (several owners of it among the targets, or several of it in the image)."""
    parents: dict[str, set[int | None]] = {}
    for i in plan.target_ids:
        names = knowledge.part_names(scene.region(i).category) if i in scene else None
        if names is not None:
            parents.setdefault(names[0], set()).add(scene.region(i).parent_id)
    return [(name, len(ids) >= 2 or _in_scene(scene, name) >= 2) for name, ids in parents.items()]


def _part_all(scene: Scene, plan: Plan, rng: np.random.Generator) -> _Fields:
    p = str(plan.facts.get("part") or "part")
    o = plan.facts.get("object")
    n = _count(plan)
    parents = {scene.region(i).parent_id for i in plan.target_ids if i in scene}
    of_o = "in the image"
    if o:
        # "the dog" only when it is the only dog in the image, whoever owns the parts
        several = len(parents) >= 2 or _in_scene(scene, str(o)) >= 2
        of_o = f"of the {_plural(str(o))}" if several else f"of the {o}"
    elif owners := _owners(scene, plan):
        # a part word alone is ambiguous ("the bodies" of a bottle and a mug): name every owner
        of_o = "of " + join([f"the {_plural(name) if several else name}" for name, several in owners])
    return {"p": p, "ps": _noun(p, 2), "n": number_word(n), "all_n": _all(n), "of_o": of_o}, set()


_FIELDS: Mapping[str, Callable[[Scene, Plan, np.random.Generator], _Fields]] = {
    "negative/object": _negative_object,
    "negative/attribute": _negative_attribute,
    "negative/relation": _negative_relation,
    "multi_object/category": _multi_category,
    "multi_object/categories": _multi_categories,
    "multi_object/attribute": _multi_attribute,
    "reasoning/affordance": _reasoning,
    "multi_granularity/instance": _instance,
    "multi_granularity/category": _granularity_category,
    "multi_granularity/supercategory": _supercategory,
    "part/one": _part_one,
    "part/all": _part_all,
}

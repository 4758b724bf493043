"""The planners by category, and the 3-shot prompts of the LLM teachers.

=================  ====================================  ==============================================
category           planner                               prompt file (``tasks/prompts/``)
=================  ====================================  ==============================================
negative           :class:`~.negative.NegativePlanner`   ``negative.v1.json``
multi_object       :class:`~.multi_object.MultiObjectPlanner`  ``multi_object.v1.json``
reasoning          :class:`~.reasoning.ReasoningPlanner`  ``reasoning.v1.json``
multi_granularity  :class:`~.multi_granularity.MultiGranularityPlanner`  ``multi_granularity.v1.json``
part               :class:`~.part.PartPlanner`           ``part.v1.json``
=================  ====================================  ==============================================

**A prompt file** (edit it; :func:`load_prompt` validates it) is one JSON object:

* ``category``, ``version``: must match the file name and the planner's ``prompt_version``;
* ``system``: the task description and the answer format, for the teacher's system message;
* ``examples``: exactly three worked examples, each ``{"regions": [...], "plan": {...}, "answer": {...}}``.
  A region is ``{"id": int, "category": str, "box": [x, y, w, h], "parts": [regions]}`` (``parts``
  may be empty; parts have no ``parts``); ``plan`` is what the planner would hand over (``subtype``,
  ``target_ids``, ``facts``); ``answer`` is the expected reply;
* ``schema``: the JSON Schema of an answer (the subset used here: ``type``, ``required``,
  ``properties``, ``additionalProperties``, ``items``, ``enum``, ``minItems``, ``minLength``).

Every example's answer must satisfy the schema, name only ids of its region list and use one of the
planner's subtypes; the plan's ``target_ids`` must equal the answer's. A mistake raises
:class:`~groundv.errors.ConfigError` naming the file and the key.

Example:
    >>> get_planner("part").category, load_prompt("negative")["version"]
    ('part', 'v1')
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from groundv.errors import ConfigError
from groundv.tasks.multi_granularity import MultiGranularityPlanner
from groundv.tasks.multi_object import MultiObjectPlanner
from groundv.tasks.negative import NegativePlanner
from groundv.tasks.part import PartPlanner
from groundv.tasks.plan import CATEGORIES, Planner
from groundv.tasks.reasoning import ReasoningPlanner

__all__ = ["PLANNERS", "check_schema", "get_planner", "load_prompt", "prompt_path"]

#: The planner class of each category, in the paper's order.
PLANNERS: dict[str, type[Planner]] = {
    "negative": NegativePlanner,
    "multi_object": MultiObjectPlanner,
    "reasoning": ReasoningPlanner,
    "multi_granularity": MultiGranularityPlanner,
    "part": PartPlanner,
}

_TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,),
                                       "integer": (int,), "number": (int, float), "boolean": (bool,),
                                       "null": (type(None),)}
_SCHEMA_WORDS = frozenset({"type", "required", "properties", "additionalProperties", "items", "enum",
                           "minItems", "minLength", "description", "title", "$schema"})


def get_planner(name: str) -> Planner:
    """A new planner for a category.

    Raises:
        ConfigError: unknown category.

    Example:
        >>> type(get_planner("reasoning")).__name__
        'ReasoningPlanner'
    """
    try:
        return PLANNERS[name]()
    except KeyError:
        raise ConfigError(f"unknown task category {name!r}", hint=f"one of: {', '.join(CATEGORIES)}") from None


def prompt_path(category: str, version: str | None = None) -> Any:
    """The packaged prompt file of a category (a :mod:`importlib.resources` traversable)."""
    version = version or PLANNERS[category].prompt_version
    return resources.files("groundv.tasks").joinpath("prompts", f"{category}.{version}.json")


def _bad(name: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{name}: {where}: {message}" if where else f"{name}: {message}",
                       hint=f"fix groundv/tasks/prompts/{name}")


def check_schema(value: Any, schema: dict[str, Any], where: str = "") -> str | None:
    """Why ``value`` does not satisfy ``schema`` (the subset described above), or None when it does.

    Example:
        >>> check_schema({"a": 1}, {"type": "object", "required": ["a", "b"]})
        "missing key 'b'"
    """
    at = f"{where}: " if where else ""
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        ok = any(isinstance(value, _TYPES[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                 for k in kinds)
        if not ok:
            return f"{at}expected {' or '.join(kinds)}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{at}{value!r} is not one of {schema['enum']}"
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        return f"{at}string shorter than {schema['minLength']}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{at}fewer than {schema['minItems']} items"
        for i, item in enumerate(value):
            if "items" in schema and (why := check_schema(item, schema["items"], f"{where}[{i}]")):
                return why
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                return f"{at}missing key {key!r}"
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                if why := check_schema(item, props[key], f"{where}.{key}" if where else key):
                    return why
            elif schema.get("additionalProperties", True) is False:
                return f"{at}unexpected key {key!r}"
    return None


def _check_schema_words(name: str, schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise _bad(name, where, "a schema must be an object")
    unknown = set(schema) - _SCHEMA_WORDS
    if unknown:
        raise _bad(name, where, f"unsupported schema keywords {sorted(unknown)}")
    kinds = schema.get("type", [])
    for k in kinds if isinstance(kinds, list) else [kinds]:
        if k not in _TYPES:
            raise _bad(name, f"{where}.type", f"unknown type {k!r}")
    for key, sub in schema.get("properties", {}).items():
        _check_schema_words(name, sub, f"{where}.properties.{key}")
    if "items" in schema:
        _check_schema_words(name, schema["items"], f"{where}.items")


def _region_ids(name: str, regions: Any, where: str, *, top: bool = True) -> set[int]:
    if not isinstance(regions, list) or (top and not regions):
        raise _bad(name, where, "must be a list of regions" + (" (at least one)" if top else ""))
    ids: set[int] = set()
    for i, r in enumerate(regions):
        at = f"{where}[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("id"), int) or not isinstance(r.get("category"), str):
            raise _bad(name, at, "a region needs an integer 'id' and a string 'category'")
        box = r.get("box")
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box)):
            raise _bad(name, f"{at}.box", "must be [x, y, w, h]")
        extra = set(r) - {"id", "category", "box", "parts"}
        if extra or (not top and "parts" in r):
            raise _bad(name, at, f"unexpected keys {sorted(extra or {'parts'})}")
        if r["id"] in ids:
            raise _bad(name, at, f"region id {r['id']} is listed twice")
        ids.add(r["id"])
        if top:
            ids |= _region_ids(name, r.get("parts", []), f"{at}.parts", top=False)
    return ids


def validate_prompt(data: Any, name: str, category: str, version: str) -> dict[str, Any]:
    """Check a parsed prompt file; returns it. See the module docstring for the rules.

    Raises:
        ConfigError: naming the file and the key of the first mistake.
    """
    if not isinstance(data, dict):
        raise _bad(name, "", "must hold one JSON object")
    missing = {"category", "version", "system", "examples", "schema"} - set(data)
    if missing:
        raise _bad(name, "", f"missing keys {sorted(missing)}")
    unknown = set(data) - {"category", "version", "system", "examples", "schema", "about"}
    if unknown:
        raise _bad(name, "", f"unknown keys {sorted(unknown)}")
    if data["category"] != category or data["version"] != version:
        raise _bad(name, "category", f"says {data['category']!r} {data['version']!r}, the file name says "
                                     f"{category!r} {version!r}")
    if not isinstance(data["system"], str) or len(data["system"].strip()) < 40:
        raise _bad(name, "system", "must be the task description (a string)")
    schema = data["schema"]
    _check_schema_words(name, schema, "schema")
    for key in ("instruction", "response", "target_ids", "subtype"):
        if key not in schema.get("required", ()):
            raise _bad(name, "schema.required", f"must require {key!r}")
    examples = data["examples"]
    if not isinstance(examples, list) or len(examples) != 3:
        raise _bad(name, "examples", "must be a list of exactly three examples")
    subtypes = PLANNERS[category].subtypes
    for i, ex in enumerate(examples):
        at = f"examples[{i}]"
        if not isinstance(ex, dict) or set(ex) != {"regions", "plan", "answer"}:
            raise _bad(name, at, "must be an object with 'regions', 'plan' and 'answer'")
        ids = _region_ids(name, ex["regions"], f"{at}.regions")
        answer, plan = ex["answer"], ex["plan"]
        if why := check_schema(answer, schema, f"{at}.answer"):
            raise _bad(name, f"{at}.answer", f"does not match the schema: {why}")
        if answer["subtype"] not in subtypes:
            raise _bad(name, f"{at}.answer.subtype", f"{answer['subtype']!r} is not one of {subtypes}")
        if not set(answer["target_ids"]) <= ids:
            raise _bad(name, f"{at}.answer.target_ids", f"names ids not in the region list: "
                                                        f"{sorted(set(answer['target_ids']) - ids)}")
        if category == "negative" and answer["target_ids"]:
            raise _bad(name, f"{at}.answer.target_ids", "a negative has no target")
        if not isinstance(plan, dict) or set(plan) - {"subtype", "target_ids", "facts", "level"} \
                or not isinstance(plan.get("facts"), dict):
            raise _bad(name, f"{at}.plan", "must be {'subtype', 'target_ids', 'facts'[, 'level']}")
        if (plan.get("subtype") != answer["subtype"]
                or sorted(plan.get("target_ids", [])) != sorted(answer["target_ids"])):
            raise _bad(name, f"{at}.plan", "subtype and target_ids must equal the answer's")
    return data


def load_prompt(category: str, version: str | None = None) -> dict[str, Any]:
    """The validated 3-shot prompt of a category (read once, then cached; treat it as read-only).

    Args:
        category: one of :data:`~groundv.tasks.plan.CATEGORIES`.
        version: the prompt version; default the planner's ``prompt_version``.

    Returns:
        ``{"category", "version", "system", "examples", "schema"}`` as in the module docstring.

    Raises:
        ConfigError: unknown category, missing file, bad JSON or a file that breaks a rule; the
            message names the file.

    Example:
        >>> len(load_prompt("part")["examples"])
        3
    """
    if category not in PLANNERS:
        raise ConfigError(f"unknown task category {category!r}", hint=f"one of: {', '.join(CATEGORIES)}")
    return _load(category, version or PLANNERS[category].prompt_version)


@functools.cache
def _load(category: str, version: str) -> dict[str, Any]:
    path = prompt_path(category, version)
    name = f"{category}.{version}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ConfigError(f"{name}: cannot read the prompt file ({exc})",
                          hint="reinstall groundv, or check that package data includes tasks/prompts/*.json") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(name, f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    return validate_prompt(data, name, category, version)

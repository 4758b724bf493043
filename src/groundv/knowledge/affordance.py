"""What things are for: affordance phrases for indirect ("reasoning") instructions.

An affordance is a short phrase that completes *"something …"*: ``"to sit on"`` ("something to sit
on" → chair, couch, bench, stool), ``"to cut the cake with"`` (→ knife), ``"that can fly"`` (→ bird,
airplane). The rules teacher picks a target's affordance to describe it without naming it, and picks an
affordance that nothing in the scene has to write a no-target instruction.

**The data file** ``data/affordances.json`` (edit it; :func:`load_affordances` validates it)::

    {"about": "...",
     "affordances": {"knife": ["to cut with", "to cut the cake with"],
                     "container": ["to put things in"],
                     "handle": ["to hold", "to grip"],
                     "chair:leg": ["that holds it up"]}}

* A key is a node key of ``taxonomy.json`` or ``"object-key:part-key"`` for one object's part.
* A node's phrases are **inherited** by everything below it in the taxonomy: ``mug`` gets
  ``container``'s "to put things in" and ``cup``'s "to drink from". An ``object:part`` key adds to the
  part's own phrases (``chair:leg`` also gets ``leg``'s, if any). Write a phrase on the most general
  node for which it is true of every node below.
* A phrase starts with ``"to "`` or ``"that "``, has no outer spaces and no closing punctuation, and is
  written as it should appear after "something" (lower case except proper words such as "TV").

Validation names the file and key of the first mistake (unknown node, bad phrase form, a phrase listed
twice for one key).

Coverage: every COCO category, every toy-world object, every PACO object and the common parts have at
least one phrase (each of them directly or through a hypernym); see the tests in ``tests/knowledge``.

Example:
    >>> "to drink from" in affordances("mug")
    True
    >>> sorted(categories_for("something to cut the cake with"))
    ['knife']
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from groundv.knowledge._loading import DataFile, bad, expect_keys, read_json, str_list
from groundv.knowledge.taxonomy import Taxonomy, load_taxonomy

__all__ = ["Affordances", "affordances", "affords", "all_affordances", "categories_for", "load_affordances"]

_LEADS = ("something ", "someone ", "anything ")
_FORMS = ("to ", "that ")


def _phrase_key(phrase: str) -> str:
    text = " ".join(phrase.strip().split()).lower()
    for lead in _LEADS:
        if text.startswith(lead):
            text = text[len(lead):]
    return text.rstrip(".?!")


class Affordances:
    """The validated contents of an ``affordances.json`` over a :class:`Taxonomy`."""

    def __init__(self, file: DataFile, taxonomy: Taxonomy) -> None:
        self.file_name = file.name
        self.taxonomy = taxonomy
        expect_keys(file, file.data, "", ["affordances"], ["about"])
        table = file.data["affordances"]
        if not isinstance(table, dict):
            raise bad(file, "affordances", "must be an object of key -> list of phrases")
        own: dict[str, tuple[str, ...]] = {}
        for key, phrases in table.items():
            where = f"affordances.{key}"
            obj, sep, part = key.partition(":")
            for k in (obj, part) if sep else (key,):
                if k not in taxonomy.nodes:
                    raise bad(file, where, f"{k!r} is not a node key of {taxonomy.file_name}")
            items = str_list(file, phrases, where, allow_empty=False)
            for i, phrase in enumerate(items):
                if not phrase.startswith(_FORMS) or phrase[-1] in ".?!,;:" or "  " in phrase:
                    raise bad(file, f"{where}[{i}]", f"{phrase!r} must complete 'something ...': start with "
                                                      f"'to ' or 'that ', single spaces, no closing punctuation")
            if len({p.lower() for p in items}) != len(items):
                raise bad(file, where, "lists a phrase twice")
            own[key] = tuple(items)
        self._own: Mapping[str, tuple[str, ...]] = MappingProxyType(own)
        self._effective: dict[str, tuple[str, ...]] = {}
        self._inverse = self._build_inverse()

    def _of_node(self, key: str) -> tuple[str, ...]:
        cached = self._effective.get(key)
        if cached is None:
            cached = _dedupe([p for k in (key, *self.taxonomy.ancestors(key)) for p in self._own.get(k, ())])
            self._effective[key] = cached
        return cached

    def _build_inverse(self) -> dict[str, frozenset[str]]:
        inverse: dict[str, set[str]] = {}
        keys = {*self.taxonomy.concrete_keys(), *(k for k in self._own if ":" in k)}
        for vocab in self.taxonomy.vocabularies:  # the object:part categories the sources use
            keys.update(k for raw in self.taxonomy.vocabulary(vocab) if ":" in raw
                        and (k := self.taxonomy.canonical(raw)) is not None)
        for key in keys:
            for phrase in self.of_key(key):
                inverse.setdefault(_phrase_key(phrase), set()).add(key)
        return {k: frozenset(v) for k, v in inverse.items()}

    def of_key(self, key: str) -> tuple[str, ...]:
        """Phrases of a node key or an ``object-key:part-key`` key, inherited ones included."""
        _, sep, part = key.partition(":")
        if sep:
            return _dedupe([*self._own.get(key, ()), *self._of_node(part)])
        return self._of_node(key)

    def affordances(self, category: str) -> tuple[str, ...]:
        """Phrases for a raw category name, most specific first; ``()`` when unknown."""
        key = self.taxonomy.canonical(category)
        if key is None:
            name = self.taxonomy.resolve(category)
            # an unknown object with a known part still has the part's affordances
            return self._of_node(name.node.key) if name.is_part and name.node is not None else ()
        return self.of_key(key)

    def categories_for(self, affordance: str) -> frozenset[str]:
        """Canonical keys (:func:`~groundv.knowledge.taxonomy.canonical`) of the things that afford it.

        Only things a source can name are returned: object, stuff and part nodes, plus the
        ``object:part`` keys of the vocabularies (``chair:seat`` for "to sit on"), never pure concepts
        such as ``container``. A leading "something " is ignored. To test a region, prefer
        :meth:`affords`, which also covers ``object:part`` names outside the vocabularies.
        """
        return self._inverse.get(_phrase_key(affordance), frozenset())

    def affords(self, category: str, affordance: str) -> bool:
        """Whether a raw category has the affordance (matching is case-insensitive)."""
        wanted = _phrase_key(affordance)
        return any(_phrase_key(p) == wanted for p in self.affordances(category))

    def all_affordances(self) -> tuple[str, ...]:
        """Every phrase in the file, sorted."""
        return tuple(sorted({p for phrases in self._own.values() for p in phrases}))


def _dedupe(phrases: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for p in phrases:
        if p.lower() not in seen:
            seen.add(p.lower())
            out.append(p)
    return tuple(out)


def load_affordances(path: str | Path | None = None, *, taxonomy: Taxonomy | None = None) -> Affordances:
    """Read and validate an affordances file; ``None`` gives the packaged one (cached).

    Args:
        path: the JSON file, or None for ``groundv/knowledge/data/affordances.json``.
        taxonomy: the taxonomy its keys refer to (default: the packaged one).

    Raises:
        ConfigError: the file is unreadable or wrong; the message names the file and the key.
    """
    if path is None and taxonomy is None:
        return _packaged()
    return Affordances(read_json(path, "affordances.json"), taxonomy or load_taxonomy())


@functools.cache
def _packaged() -> Affordances:
    return Affordances(read_json(None, "affordances.json"), load_taxonomy())


def affordances(category: str) -> tuple[str, ...]:
    """What a category is for or can do, most specific first.

    Example:
        >>> affordances("chair")[0], affordances("car_(automobile):wheel")
        ('to sit on', ('to roll on', 'that rolls'))
    """
    return _packaged().affordances(category)


def categories_for(affordance: str) -> frozenset[str]:
    """Canonical category keys that have an affordance (``"to sit on"`` → chair, couch, bench, ...).

    Example:
        >>> {"chair", "couch", "bench"} <= categories_for("to sit on")
        True
    """
    return _packaged().categories_for(affordance)


def affords(category: str, affordance: str) -> bool:
    """Whether a raw category has an affordance.

    Example:
        >>> affords("wine glass", "something to drink from"), affords("dog", "to drink from")
        (True, False)
    """
    return _packaged().affords(category, affordance)


def all_affordances() -> tuple[str, ...]:
    """Every affordance phrase in the packaged file, sorted (e.g. to pick a no-target instruction)."""
    return _packaged().all_affordances()

"""Category names as words: display names, plurals, synonyms and hypernym chains.

A :class:`~groundv.scene.Region` keeps its source's raw category name. This module turns any of those
names into natural words and knows what kind of thing each one is, so the rules teacher can write
"the car", "two cars", "the vehicle" or "the left ear of the person":

==============================  =========================  ==================================
raw category                    ``display_name``           ``hypernyms`` (nearest first)
==============================  =========================  ==================================
``dog`` (COCO, VOC, PACO)       ``dog``                    pet, animal, living thing
``car_(automobile)`` (LVIS)     ``car``                    motor vehicle, vehicle, object
``mug:handle`` (PACO, toy)      ``mug handle``             handle, part
``diningtable`` (VOC)           ``dining table``           table, furniture, object
``person:lear`` (Pascal-Part)   ``person left ear``        left ear, ear, body part, part
``aeroplane:wheel_2``           ``airplane wheel``         wheel, part
``sky-other-merged`` (panoptic) ``sky``                    natural scenery
``Tabasco_sauce`` (unknown)     ``Tabasco sauce``          (none)
==============================  =========================  ==================================

**Lookup.** A name is tried as written (lower-cased, ``_`` and ``-`` read as spaces), which is how
aliases with a disambiguation such as ``mouse_(animal_rodent)`` are found. Failing that, its LVIS
``_(...)`` suffix, a panoptic ``-merged`` / ``-other`` / ``-stuff`` suffix and a numbered-instance
suffix (``wheel_2``, ``engine_1``) are dropped and the rest is tried again; a name that lost an LVIS
suffix may only match an object or stuff node (the suffix names an object sense, so
``cap_(headwear)`` never becomes a bottle cap). Plurals are not looked up (``glasses`` could be
spectacles; source vocabularies are singular, and an alias can list a plural name). An
``object:part`` name (PACO, the toy world, Pascal-Part as read by groundv) resolves both sides; a
``part_overrides`` entry can give an object's part its own meaning (``train:head`` is the locomotive).
Nothing here raises on an unknown name: it gets a cleaned-up display name and no facts.

**The data file** ``data/taxonomy.json`` (edit it; :func:`load_taxonomy` validates it):

* ``roots``: the top nodes; every hypernym chain ends in one (``living thing``, ``object``, ``part``, ...).
* ``concepts``, ``objects``, ``stuff``, ``parts``: nodes by key (lower-case natural words). The four
  sections only group the file; ``concepts`` are hypernyms that no source uses as a category. A node is
  ``{"is_a": [...], "display": str, "plural": str, "synonyms": [...], "aliases": [...], "mass": bool}``; only
  ``is_a`` is required (``[]`` for a root). ``is_a`` lists the nearest hypernyms (several make a DAG:
  ``cup`` is a ``container`` and ``kitchenware``); ``display`` defaults to the key; ``plural`` defaults
  to the English rules plus ``irregular_plurals``; ``synonyms`` are other natural phrasings (not used
  for lookup) and must mean exactly the node: never a narrower, broader, gendered or age word (not
  "woman" for a person, "puppy" for a dog, "sedan" for a car), since "all the X" is worded with them;
  ``aliases`` are the raw source spellings that mean this node (``tvmonitor``, ``lear``); ``mass``
  (default false) marks an uncountable noun ("grass", "sand"): no "a", and its plural is itself.
* ``part_overrides``: ``"object-key:part" -> node key``.
* ``irregular_plurals``: ``word -> plural`` for the last word of a phrase (``person -> people``).
* ``vocabularies``: the category names of each source (``coco``: the 80 COCO names, ``paco``: the 75
  PACO object names, ``paco_parts``: the 456 PACO ``object:part`` names, ``pascal_voc``,
  ``pascal_part``, ``coco_panoptic_stuff``, ``toyworld``, ``toyworld_parts``); each must resolve.

Validation names the file and key of the first mistake: an unknown ``is_a`` target, a cycle, a node
with no hypernym that is not a root, an alias that means two nodes, an unknown field, a vocabulary
name that does not resolve.

**Uncertainty.** The 75 PACO object names and the 456 ``object:part`` names were checked against the
class tables that third-party PACO code ships (not against the official JSON, which is not at hand;
``colied_tube`` is PACO's own spelling). The Pascal-Part abbreviations seen in the fixtures are
certain; the rest (e.g. the horse's ``lfho``, the train's ``hfrontside`` and ``coach_N``) follow the
``part2ind`` naming of Chen et al. from memory and are unverified. Hypernyms, synonyms, plurals and
the panoptic stuff names are hand-written common sense, not WordNet.

Example:
    >>> display_name("car_(automobile)"), display_name("lear"), display_name("wheel_2")
    ('car', 'left ear', 'wheel')
    >>> hypernyms("mug")[:3]
    ('cup', 'container', 'kitchenware')
    >>> is_a("dog", "animal"), plural("person"), part_names("car_(automobile):wheel")
    (True, 'people', ('car', 'wheel'))
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from groundv.errors import ConfigError
from groundv.knowledge._loading import DataFile, bad, expect_keys, read_json, str_list

__all__ = [
    "SECTIONS",
    "Name",
    "Node",
    "Taxonomy",
    "canonical",
    "category_key",
    "display_name",
    "hypernyms",
    "is_a",
    "load_taxonomy",
    "part_names",
    "plural",
    "synonyms",
    "vocabulary",
]

#: The node sections of ``taxonomy.json``; all but ``concepts`` hold things a source can name.
SECTIONS: tuple[str, ...] = ("concepts", "objects", "stuff", "parts")
_CONCRETE = ("objects", "stuff", "parts")
_NODE_FIELDS = ("display", "plural", "synonyms", "aliases", "mass")

_PAREN = re.compile(r"[\s_]*\([^()]*\)\s*$")
_LVIS_PAIR = re.compile(r"^\S+_\([^()]*\)\s+(\S+)$")
_STUFF_SUFFIX = re.compile(r"-(?:merged|other|stuff)$", re.IGNORECASE)
_NUMBER = re.compile(r"[\s_]+\d+$")
_SPACES = re.compile(r"[\s_]+")
_SEPARATORS = re.compile(r"[\s_\-]+")


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of the taxonomy.

    Attributes:
        key: its key in the data file (lower-case words, e.g. ``"dining table"``).
        section: ``concepts``, ``objects``, ``stuff`` or ``parts``.
        is_a: nearest hypernyms (node keys); empty for a root.
        display: the words to write (``"TV"`` for the key ``"tv"``).
        plural: an explicit plural, or None to apply the English rules.
        synonyms: other natural phrasings.
        aliases: raw source spellings of this node.
        mass: an uncountable noun ("grass"): no article, its own plural.
    """

    key: str
    section: str
    is_a: tuple[str, ...]
    display: str
    plural: str | None
    synonyms: tuple[str, ...]
    aliases: tuple[str, ...]
    mass: bool = False


@dataclass(frozen=True, slots=True)
class Name:
    """A raw category name resolved against the taxonomy.

    Attributes:
        raw: the name as given.
        node: the node it means (for ``object:part``, the part's node), or None when unknown.
        text: its words (the node's display name, or the cleaned-up raw name).
        parent: for ``object:part``, the object's node (None when unknown).
        parent_text: for ``object:part``, the object's words; None for other names.
    """

    raw: str
    node: Node | None
    text: str
    parent: Node | None = None
    parent_text: str | None = None

    @property
    def is_part(self) -> bool:
        """True for an ``object:part`` name."""
        return self.parent_text is not None


def _lookup_key(text: str) -> str:
    """Lower-case, with ``_``, ``-`` and runs of spaces read as one space."""
    return _SEPARATORS.sub(" ", text.strip().lower()).strip()


def _clean(raw: str) -> tuple[str, bool]:
    """The raw name without source decorations (case kept) and whether an LVIS suffix was dropped."""
    text = raw.strip()
    # LVIS v0.5 wrote a few names as "<name>_(<sense>) <plain synonym>": the synonym is the words
    pair = _LVIS_PAIR.match(text)
    if pair:
        text = pair.group(1)
    stripped = _PAREN.sub("", text)
    had_suffix = pair is not None or stripped != text
    text = stripped
    while match := _STUFF_SUFFIX.search(text):
        text = text[: match.start()]
    text = _NUMBER.sub("", text)
    return _SPACES.sub(" ", text).strip(), had_suffix


def _pluralise_word(word: str, irregular: Mapping[str, str]) -> str:
    low = word.lower()
    if low in irregular:
        out = irregular[low]
        return out[:1].upper() + out[1:] if word[:1].isupper() and not word.isupper() else out
    if len(word) > 1 and word.isupper():  # an acronym: TV -> TVs
        return word + "s"
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(low) > 1 and low.endswith("y") and low[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _pluralise(phrase: str, irregular: Mapping[str, str]) -> str:
    """English plural of a noun phrase: the head noun changes ("handle of the mug" -> "handles of the mug")."""
    if not phrase:
        return phrase
    if " of " in phrase:
        head, tail = phrase.split(" of ", 1)
        return f"{_pluralise(head, irregular)} of {tail}"
    if phrase.lower() in irregular:
        return irregular[phrase.lower()]
    head, _, last = phrase.rpartition(" ")
    last = _pluralise_word(last, irregular)
    return f"{head} {last}" if head else last


class Taxonomy:
    """The validated contents of a ``taxonomy.json``; see the module docstring for the format.

    Build one with :func:`load_taxonomy`. The module-level functions use the packaged file.
    """

    def __init__(self, file: DataFile) -> None:
        self.file_name = file.name
        data = file.data
        expect_keys(file, data, "", ["roots", *SECTIONS, "part_overrides", "irregular_plurals", "vocabularies"],
                    ["about"])
        self._nodes: dict[str, Node] = {}
        for section in SECTIONS:
            entries = data[section]
            if not isinstance(entries, dict):
                raise bad(file, section, "must be an object of nodes by key")
            for key, spec in entries.items():
                self._nodes[key] = self._read_node(file, section, key, spec)
        self.nodes: Mapping[str, Node] = MappingProxyType(self._nodes)
        # Planners resolve the same few names hundreds of thousands of times per run.
        self._resolved: dict[str, Name] = {}
        self.roots: tuple[str, ...] = tuple(str_list(file, data["roots"], "roots", allow_empty=False))
        self._check_graph(file)
        self._irregular = self._read_irregular(file, data["irregular_plurals"])
        self._index = self._build_index(file)
        self._overrides = self._read_overrides(file, data["part_overrides"])
        self._vocabularies = self._read_vocabularies(file, data["vocabularies"])
        self._chains: dict[str, tuple[str, ...]] = {}

    # -- loading ------------------------------------------------------------------------------

    def _read_node(self, file: DataFile, section: str, key: Any, spec: Any) -> Node:
        where = f"{section}.{key}"
        if not key or key != key.strip() or key != key.lower() or ":" in key:
            raise bad(file, where, "a node key must be lower-case words without ':' or outer spaces")
        if key in self._nodes:
            raise bad(file, where, f"the key is already a node in {self._nodes[key].section}")
        if not isinstance(spec, dict):
            raise bad(file, where, f"must be an object like {{\"is_a\": [...]}}, got {type(spec).__name__}")
        expect_keys(file, spec, where, ["is_a"], _NODE_FIELDS)
        is_a = str_list(file, spec["is_a"], f"{where}.is_a")
        if len(set(is_a)) != len(is_a) or key in is_a:
            raise bad(file, f"{where}.is_a", "lists a hypernym twice or the node itself")
        for field in ("display", "plural"):
            value = spec.get(field)
            if value is not None and (not isinstance(value, str) or not value.strip() or value != value.strip()):
                raise bad(file, f"{where}.{field}", f"must be a non-empty string, got {value!r}")
        mass = spec.get("mass", False)
        if not isinstance(mass, bool):
            raise bad(file, f"{where}.mass", f"must be true or false, got {mass!r}")
        display = spec.get("display", key)
        return Node(key=key, section=section, is_a=tuple(is_a), display=display,
                    plural=spec.get("plural", display if mass else None), mass=mass,
                    synonyms=tuple(str_list(file, spec.get("synonyms", []), f"{where}.synonyms")),
                    aliases=tuple(str_list(file, spec.get("aliases", []), f"{where}.aliases")))

    def _check_graph(self, file: DataFile) -> None:
        for root in self.roots:
            node = self._nodes.get(root)
            if node is None:
                raise bad(file, "roots", f"{root!r} is not a node")
            if node.is_a:
                raise bad(file, f"{node.section}.{root}.is_a", "a root must have no hypernyms ([])")
        for node in self._nodes.values():
            if not node.is_a and node.key not in self.roots:
                raise bad(file, f"{node.section}.{node.key}.is_a",
                          f"is empty but {node.key!r} is not listed in 'roots' (every chain must end in a root)")
            for parent in node.is_a:
                if parent not in self._nodes:
                    raise bad(file, f"{node.section}.{node.key}.is_a", f"unknown node {parent!r}")
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(key: str, path: list[str]) -> None:
            state[key] = 1
            for parent in self._nodes[key].is_a:
                if state.get(parent) == 1:
                    cycle = " -> ".join([*path[path.index(parent):], parent])
                    node = self._nodes[key]
                    raise bad(file, f"{node.section}.{key}.is_a", f"hypernym cycle {cycle}")
                if parent not in state:
                    visit(parent, [*path, parent])
            state[key] = 2

        for key in self._nodes:
            if key not in state:
                visit(key, [key])

    @staticmethod
    def _read_irregular(file: DataFile, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise bad(file, "irregular_plurals", "must be an object of word -> plural")
        for word, out in value.items():
            if word != word.lower() or not isinstance(out, str) or not out.strip():
                raise bad(file, f"irregular_plurals.{word}", "the word must be lower-case and the plural a string")
        return dict(value)

    def _build_index(self, file: DataFile) -> dict[str, Node]:
        index: dict[str, Node] = {}

        def add(text: str, node: Node, where: str) -> None:
            key = _lookup_key(text)
            other = index.get(key)
            if other is not None and other.key != node.key:
                raise bad(file, where, f"{text!r} would mean both {other.key!r} and {node.key!r}")
            index[key] = node

        for node in self._nodes.values():
            add(node.key, node, f"{node.section}.{node.key}")
        for node in self._nodes.values():
            for i, alias in enumerate(node.aliases):
                add(alias, node, f"{node.section}.{node.key}.aliases[{i}]")
        return index

    def _read_overrides(self, file: DataFile, value: Any) -> dict[str, Node]:
        if not isinstance(value, dict):
            raise bad(file, "part_overrides", "must be an object of 'object-key:part' -> node key")
        out: dict[str, Node] = {}
        for spec, target in value.items():
            where = f"part_overrides.{spec}"
            obj, sep, part = spec.partition(":")
            if not sep or obj not in self._nodes or not part.strip():
                raise bad(file, where, "the key must be 'object-key:part' with an existing object node key")
            if not isinstance(target, str) or target not in self._nodes:
                raise bad(file, where, f"unknown node {target!r}")
            out[f"{obj}:{_lookup_key(_clean(part)[0])}"] = self._nodes[target]
        return out

    def _read_vocabularies(self, file: DataFile, value: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict):
            raise bad(file, "vocabularies", "must be an object of name -> list of category names")
        out: dict[str, tuple[str, ...]] = {}
        for name, names in value.items():
            entries = str_list(file, names, f"vocabularies.{name}", allow_empty=False)
            if len(set(entries)) != len(entries):
                dup = next(e for e in entries if entries.count(e) > 1)
                raise bad(file, f"vocabularies.{name}", f"lists {dup!r} twice")
            for i, raw in enumerate(entries):
                resolved = self.resolve(raw)
                if resolved.node is None or (resolved.is_part and resolved.parent is None):
                    raise bad(file, f"vocabularies.{name}[{i}]", f"{raw!r} does not resolve to a node")
            out[name] = tuple(entries)
        return out

    # -- lookup -------------------------------------------------------------------------------

    def _resolve_plain(self, raw: str) -> tuple[Node | None, str]:
        node = self._index.get(_lookup_key(raw))
        cleaned, had_suffix = _clean(raw)
        if node is None and cleaned:
            key = _lookup_key(cleaned)
            node = self._index.get(key)
            if node is not None and had_suffix and node.section not in ("objects", "stuff"):
                node = None
        if node is not None:
            return node, node.display
        return None, cleaned or raw.strip()

    def resolve(self, category: str) -> Name:
        """Resolve a raw category name; never raises for an unknown name.

        Example:
            >>> load_taxonomy().resolve("car_(automobile):wheel").parent_text
            'car'
        """
        cached = self._resolved.get(category)
        if cached is None:
            cached = self._resolved[category] = self._resolve(category)
        return cached

    def _resolve(self, category: str) -> Name:
        if ":" in category:
            obj_raw, part_raw = category.split(":", 1)
            parent, parent_text = self._resolve_plain(obj_raw)
            override = None
            if parent is not None:
                override = self._overrides.get(f"{parent.key}:{_lookup_key(_clean(part_raw)[0])}")
            if override is not None:
                node, text = override, override.display
            else:
                node, text = self._resolve_plain(part_raw)
            return Name(category, node, text, parent, parent_text)
        node, text = self._resolve_plain(category)
        return Name(category, node, text)

    def _chain(self, key: str) -> tuple[str, ...]:
        """Ancestors of a node, nearest first; a node always comes before its own hypernyms."""
        cached = self._chains.get(key)
        if cached is not None:
            return cached
        distance = {key: 0}
        found = [key]
        queue = deque([key])
        while queue:
            current = queue.popleft()
            for parent in self._nodes[current].is_a:
                if parent not in distance:
                    distance[parent] = distance[current] + 1
                    found.append(parent)
                    queue.append(parent)
        # Kahn's order over the ancestor sub-DAG: emit a node only after every descendant of it that is
        # also an ancestor of `key`, breaking ties by distance, then by discovery order.
        waiting = dict.fromkeys(found[1:], 0)
        for k in found:
            for parent in self._nodes[k].is_a:
                waiting[parent] += 1
        rank = {k: i for i, k in enumerate(found)}
        ready: list[str] = []
        chain: list[str] = []

        def release(k: str) -> None:
            for parent in self._nodes[k].is_a:
                waiting[parent] -= 1
                if waiting[parent] == 0:
                    ready.append(parent)

        release(key)
        while ready:
            ready.sort(key=lambda k: (distance[k], rank[k]))
            nxt = ready.pop(0)
            chain.append(nxt)
            release(nxt)
        self._chains[key] = result = tuple(chain)
        return result

    def _plural_of(self, node: Node | None, text: str) -> str:
        if node is not None and node.plural:
            return node.plural
        return _pluralise(text, self._irregular)

    # -- queries ------------------------------------------------------------------------------

    def canonical(self, category: str) -> str | None:
        """The node key (``"object-key:part-key"`` for parts), or None when any side is unknown."""
        name = self.resolve(category)
        if name.node is None:
            return None
        if name.is_part:
            return None if name.parent is None else f"{name.parent.key}:{name.node.key}"
        return name.node.key

    def category_key(self, category: str) -> str:
        """:meth:`canonical` when known, else the lower-cased cleaned-up name: equal for equal categories."""
        return self.canonical(category) or _lookup_key(self.display_name(category))

    def display_name(self, category: str) -> str:
        """Natural words for a category; ``object:part`` reads ``"<object> <part>"``."""
        name = self.resolve(category)
        return f"{name.parent_text} {name.text}" if name.is_part else name.text

    def part_names(self, category: str) -> tuple[str, str] | None:
        """``(object words, part words)`` for an ``object:part`` name, else None."""
        name = self.resolve(category)
        return (name.parent_text, name.text) if name.parent_text is not None else None

    def plural(self, name: str) -> str:
        """The plural of :meth:`display_name` (works on free noun phrases too)."""
        resolved = self.resolve(name)
        words = self._plural_of(resolved.node, resolved.text)
        return f"{resolved.parent_text} {words}" if resolved.is_part else words

    def is_mass(self, category: str) -> bool:
        """Whether the category is an uncountable noun (``mass`` in the data file)."""
        name = self.resolve(category)
        return name.node is not None and name.node.mass and not name.is_part

    def synonyms(self, category: str) -> tuple[str, ...]:
        """Natural ways to say it, the display name first; parts add "the handle of the mug" forms."""
        name = self.resolve(category)
        extra = name.node.synonyms if name.node is not None else ()
        if name.is_part:
            obj, part = name.parent_text, name.text
            phrases = [f"{obj} {part}", f"{part} of the {obj}", f"{obj}'s {part}",
                       *(f"{s} of the {obj}" for s in extra)]
        else:
            phrases = [name.text, *extra]
        seen: set[str] = set()
        out = []
        for phrase in phrases:
            if phrase.lower() not in seen:
                seen.add(phrase.lower())
                out.append(phrase)
        return tuple(out)

    def hypernyms(self, category: str) -> tuple[str, ...]:
        """Display names of the hypernyms, nearest first; a part's first hypernym is the bare part."""
        name = self.resolve(category)
        if name.node is None:
            return ()
        chain = tuple(self._nodes[k].display for k in self._chain(name.node.key))
        return (name.node.display, *chain) if name.is_part else chain

    def is_a(self, category: str, hypernym: str) -> bool:
        """True when ``category`` is ``hypernym`` or lies below it (``is_a("mug", "kitchenware")``)."""
        target = self.resolve(hypernym)
        if target.node is None:
            return False
        if target.is_part:
            mine = self.canonical(category)
            return mine is not None and mine == self.canonical(hypernym)
        name = self.resolve(category)
        if name.node is None:
            return False
        return target.node.key == name.node.key or target.node.key in self._chain(name.node.key)

    def ancestors(self, key: str) -> tuple[str, ...]:
        """Node keys above the node ``key``, nearest first.

        Raises:
            KeyError: ``key`` is not a node key.
        """
        if key not in self._nodes:
            raise KeyError(f"{key!r} is not a node of {self.file_name}")
        return self._chain(key)

    def concrete_keys(self) -> Iterator[str]:
        """Keys of the nodes a source can name (the ``objects``, ``stuff`` and ``parts`` sections)."""
        return (k for k, n in self._nodes.items() if n.section in _CONCRETE)

    def vocabulary(self, name: str) -> tuple[str, ...]:
        """The raw category names of one source (``coco``, ``paco``, ``toyworld_parts``, ...).

        Raises:
            ConfigError: no vocabulary of that name.
        """
        try:
            return self._vocabularies[name]
        except KeyError:
            raise ConfigError(f"unknown vocabulary {name!r}",
                              hint=f"one of: {', '.join(sorted(self._vocabularies))}") from None

    @property
    def vocabularies(self) -> tuple[str, ...]:
        """The names of the vocabularies in the file."""
        return tuple(self._vocabularies)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; ``None`` gives the packaged one (read once, then cached).

    Raises:
        ConfigError: the file is unreadable or wrong; the message names the file and the key.

    Example:
        >>> load_taxonomy().canonical("car_(automobile)")
        'car'
    """
    if path is None:
        return _packaged()
    return Taxonomy(read_json(path, "taxonomy.json"))


@functools.cache
def _packaged() -> Taxonomy:
    return Taxonomy(read_json(None, "taxonomy.json"))


def canonical(category: str) -> str | None:
    """The taxonomy key of a raw category (``"car_(automobile)"`` -> ``"car"``), or None when unknown.

    Example:
        >>> canonical("car_(automobile):wheel"), canonical("Tabasco_sauce")
        ('car:wheel', None)
    """
    return _packaged().canonical(category)


def category_key(category: str) -> str:
    """A key that is the same for every spelling of a category: :func:`canonical`, or for an unknown
    name its lower-cased cleaned-up words (so ``wheel_1`` and ``wheel_2`` share ``"wheel"``).

    Example:
        >>> category_key("car_(automobile)"), category_key("Tabasco_sauce")
        ('car', 'tabasco sauce')
    """
    return _packaged().category_key(category)


def display_name(category: str) -> str:
    """Natural words for any raw category name; unknown names are cleaned up, never rejected.

    Example:
        >>> display_name("diningtable"), display_name("mug:handle"), display_name("army_tank")
        ('dining table', 'mug handle', 'army tank')
    """
    return _packaged().display_name(category)


def part_names(category: str) -> tuple[str, str] | None:
    """``(object, part)`` words of an ``object:part`` category, else None.

    Example:
        >>> part_names("person:lear"), part_names("dog")
        (('person', 'left ear'), None)
    """
    return _packaged().part_names(category)


def possessive_name(category: str) -> str:
    """A category named as one phrase: ``"cat's left eye"`` for an ``object:part``, else its display name.

    Example:
        >>> possessive_name("cat:leye"), possessive_name("car_(automobile)")
        ("cat's left eye", 'car')
    """
    parts = part_names(category)
    return f"{parts[0]}'s {parts[1]}" if parts else display_name(category)


def plural(name: str) -> str:
    """The plural of a category's display name, or of any noun phrase.

    Example:
        >>> plural("knife"), plural("mouse_(computer_equipment)"), plural("handle of the mug")
        ('knives', 'mice', 'handles of the mug')
    """
    return _packaged().plural(name)


def is_mass(category: str) -> bool:
    """Whether a category is an uncountable noun: "grass", never "a grass" or "grasses".

    Example:
        >>> is_mass("grass-merged"), is_mass("dog")
        (True, False)
    """
    return _packaged().is_mass(category)


def synonyms(category: str) -> tuple[str, ...]:
    """Natural phrasings of a category, its display name first.

    Example:
        >>> synonyms("car_(automobile)")[:2]
        ('car', 'automobile')
    """
    return _packaged().synonyms(category)


def hypernyms(category: str) -> tuple[str, ...]:
    """Hypernyms of a category, nearest first; ``()`` when unknown.

    Example:
        >>> hypernyms("dog")
        ('pet', 'animal', 'living thing')
    """
    return _packaged().hypernyms(category)


def is_a(category: str, hypernym: str) -> bool:
    """Whether ``category`` is a ``hypernym`` (reflexive; both may be raw names).

    Example:
        >>> is_a("dog", "pet"), is_a("person", "animal"), is_a("mug:handle", "handle")
        (True, False, True)
    """
    return _packaged().is_a(category, hypernym)


def vocabulary(name: str) -> tuple[str, ...]:
    """The raw category names of one source, as listed in the data file.

    Example:
        >>> len(vocabulary("coco")), len(vocabulary("paco"))
        (80, 75)
    """
    return _packaged().vocabulary(name)

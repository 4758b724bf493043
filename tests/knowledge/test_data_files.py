"""A bad edit of a data file fails at load with a ConfigError that names the file and the key."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import pytest

from groundv.errors import ConfigError
from groundv.knowledge import load_affordances, load_colours, load_taxonomy


def packaged(name: str) -> dict:
    return json.loads(resources.files("groundv.knowledge").joinpath("data").joinpath(name).read_text("utf-8"))


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def mutated(name: str, edit) -> dict:
    data = copy.deepcopy(packaged(name))
    edit(data)
    return data


def test_packaged_files_load_from_a_path(tmp_path):
    taxonomy = load_taxonomy(write(tmp_path, "taxonomy.json", packaged("taxonomy.json")))
    assert taxonomy.canonical("car_(automobile)") == "car"
    affordances = load_affordances(write(tmp_path, "affordances.json", packaged("affordances.json")),
                                   taxonomy=taxonomy)
    assert "to sit on" in affordances.affordances("chair")
    colours = load_colours(write(tmp_path, "colours.json", packaged("colours.json")))
    assert colours.name_rgb((200, 30, 30)) == "red"


def _set(path: list, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _delete(path: list):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


def _append_vocab(data):
    data["vocabularies"]["coco"].append("flying saucer")


TAXONOMY_BREAKS = [
    (_set(["objects", "dog", "is_a"], ["pett"]), "objects.dog.is_a", "unknown node 'pett'"),
    (_set(["concepts", "animal", "is_a"], ["pet"]), "concepts.pet.is_a", "hypernym cycle animal -> pet -> animal"),
    (_set(["objects", "dog", "is_a"], []), "objects.dog.is_a", "not listed in 'roots'"),
    (_set(["objects", "cat", "aliases"], ["dog"]), "objects.cat.aliases[0]", "would mean both"),
    (_set(["objects", "dog", "synonym"], ["puppy"]), "objects.dog", "unknown key 'synonym'"),
    (_set(["objects", "dog", "synonyms"], "puppy"), "objects.dog.synonyms", "must be a list"),
    (_set(["objects", "dog", "synonyms"], ["puppy", ""]), "objects.dog.synonyms[1]", "non-empty string"),
    (_set(["objects", "dog", "display"], 7), "objects.dog.display", "non-empty string"),
    (_set(["objects", "Dog"], {"is_a": ["pet"]}), "objects.Dog", "lower-case"),
    (_set(["parts", "dog"], {"is_a": ["part"]}), "parts.dog", "already a node in objects"),
    (_set(["roots"], ["object", "flying saucer"]), "roots", "'flying saucer' is not a node"),
    (_set(["roots"], ["object", "dog"]), "objects.dog.is_a", "a root must have no hypernyms"),
    (_append_vocab, "vocabularies.coco[80]", "'flying saucer' does not resolve"),
    (_set(["part_overrides", "zork:head"], "locomotive"), "part_overrides.zork:head", "object node key"),
    (_set(["part_overrides", "train:head"], "steam engine"), "part_overrides.train:head", "unknown node"),
    (_set(["irregular_plurals", "Goose"], "geese"), "irregular_plurals.Goose", "lower-case"),
    (_delete(["vocabularies"]), "(top level)", "missing required key 'vocabularies'"),
    (_set(["extra"], 1), "(top level)", "unknown key 'extra'"),
]


@pytest.mark.parametrize(("edit", "key", "problem"), TAXONOMY_BREAKS)
def test_broken_taxonomy(tmp_path, edit, key, problem):
    path = write(tmp_path, "taxonomy.json", mutated("taxonomy.json", edit))
    with pytest.raises(ConfigError) as err:
        load_taxonomy(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message
    assert str(path) in err.value.hint


def test_binary_file(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_taxonomy(path)


@pytest.mark.parametrize(("text", "problem"), [
    ('{"roots": [1,,]}', "not valid JSON"),
    ('[1, 2]', "top level must be a JSON object"),
    ('{"roots": [], "roots": []}', "appears twice"),
])
def test_unparsable_files(tmp_path, text, problem):
    path = write(tmp_path, "taxonomy.json", text)
    with pytest.raises(ConfigError, match=problem) as err:
        load_taxonomy(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_taxonomy(tmp_path / "nope.json")


AFFORDANCE_BREAKS = [
    (_set(["affordances", "flying saucer"], ["to fly in"]), "affordances.flying saucer", "not a node key"),
    (_set(["affordances", "chair"], ["sit on"]), "affordances.chair[0]", "must complete 'something ...'"),
    (_set(["affordances", "chair"], ["to sit on."]), "affordances.chair[0]", "no closing punctuation"),
    (_set(["affordances", "chair"], ["to sit on", "to sit on"]), "affordances.chair", "lists a phrase twice"),
    (_set(["affordances", "chair"], []), "affordances.chair", "must not be empty"),
    (_set(["affordances", "zork:leg"], ["to walk with"]), "affordances.zork:leg", "'zork' is not a node key"),
]


@pytest.mark.parametrize(("edit", "key", "problem"), AFFORDANCE_BREAKS)
def test_broken_affordances(tmp_path, edit, key, problem):
    path = write(tmp_path, "affordances.json", mutated("affordances.json", edit))
    with pytest.raises(ConfigError) as err:
        load_affordances(path)
    assert str(err.value).startswith(f"{path}: {key}: "), str(err.value)
    assert problem in str(err.value)


def _only_black(data):
    data["rules"] = [{"term": "black", "v": [0, 0.2]}]


COLOUR_BREAKS = [
    (_set(["rules", 0, "term"], "beige"), "rules[0].term", "not one of 'terms'"),
    (_set(["rules", 0, "v"], [0.5, 0.2]), "rules[0].v", "0 <= lo < hi"),
    (_set(["rules", 0, "h"], [10, 10]), "rules[0].h", "distinct degrees"),
    (_set(["rules", 0, "x"], [0, 1]), "rules[0]", "unknown key 'x'"),
    (_only_black, "rules", "unnamed"),
    (_set(["region", "min_share"], 2), "region.min_share", "must be in (0, 1]"),
    (_set(["region", "min_pixels"], 0), "region.min_pixels", "positive integer"),
    (_set(["region", "max_samples"], 5), "region.max_samples", "at least min_pixels"),
    (_set(["terms"], ["red", "red"]), "terms", "lists a term twice"),
]


@pytest.mark.parametrize(("edit", "key", "problem"), COLOUR_BREAKS)
def test_broken_colours(tmp_path, edit, key, problem):
    path = write(tmp_path, "colours.json", mutated("colours.json", edit))
    with pytest.raises(ConfigError) as err:
        load_colours(path)
    assert str(err.value).startswith(f"{path}: {key}: "), str(err.value)
    assert problem in str(err.value)

from __future__ import annotations

import pytest

from groundv.errors import ConfigError
from groundv.knowledge import (
    canonical,
    category_key,
    display_name,
    hypernyms,
    is_a,
    load_taxonomy,
    part_names,
    plural,
    synonyms,
    vocabulary,
)
from tests.knowledge.vocab import COCO80, PACO75, PASCAL_FIXTURE_PARTS, TOY_OBJECTS, TOY_PARTS, VOC20

ROOTS = set(load_taxonomy().roots)


# -- name normalisation across the naming schemes ----------------------------------------------

@pytest.mark.parametrize(("raw", "words"), [
    # COCO keeps its names, except where they are not what a person would write
    ("dog", "dog"), ("traffic light", "traffic light"), ("tv", "TV"), ("hair drier", "hair dryer"),
    ("sports ball", "ball"), ("remote", "remote control"),
    # LVIS / PACO: "_(...)" suffixes and underscores
    ("car_(automobile)", "car"), ("mouse_(computer_equipment)", "mouse"), ("glass_(drink_container)", "glass"),
    ("tape_(sticky_cloth_or_paper)", "tape"), ("laptop_computer", "laptop"), ("trash_can", "trash can"),
    ("television_set", "TV"), ("cellular_telephone", "cell phone"), ("microwave_oven", "microwave"),
    ("pan_(for_cooking)", "pan"), ("slipper_(footwear)", "slipper"),
    # an LVIS suffix naming another sense must not fall back to the wrong node
    ("mouse_(animal_rodent)", "mouse"), ("cap_(headwear)", "cap"),
    # Pascal VOC
    ("diningtable", "dining table"), ("tvmonitor", "TV"), ("pottedplant", "potted plant"),
    ("aeroplane", "airplane"), ("motorbike", "motorcycle"), ("sofa", "couch"),
    # Pascal-Part abbreviations and numbered instances
    ("lear", "left ear"), ("rear", "right ear"), ("leye", "left eye"), ("llarm", "left lower arm"),
    ("ruleg", "right upper leg"), ("lfpa", "left front paw"), ("rbho", "right back hoof"),
    ("fliplate", "front license plate"), ("fwheel", "front wheel"), ("wheel_2", "wheel"), ("engine_1", "engine"),
    ("door_3", "door"), ("cfrontside_2", "carriage front"),
    # object:part (PACO, toy world, Pascal-Part as read by groundv)
    ("mug:handle", "mug handle"), ("car_(automobile):wheel", "car wheel"), ("person:lear", "person left ear"),
    ("aeroplane:wheel_3", "airplane wheel"), ("train:head", "train locomotive"), ("car:mirror", "car side mirror"),
    ("laptop_computer:back_cover", "laptop back cover"), ("pipe:colied_tube", "pipe coiled tube"),
    # COCO panoptic stuff
    ("sky-other-merged", "sky"), ("wall-brick", "brick wall"), ("floor-wood", "wood floor"),
    ("window-blind", "window blind"), ("door-stuff", "door"), ("playingfield", "playing field"),
    # unknown names are cleaned up, never rejected
    ("Tabasco_sauce", "Tabasco sauce"), ("tank_top_(clothing)", "tank top"),
    ("table-tennis_table", "table-tennis table"),
    ("unicorn:horn_2", "unicorn horn"), ("zork:gizmo", "zork gizmo"),
    # spacing and case
    ("  mug ", "mug"), ("MUG", "mug"), ("Car_(Automobile)", "car"),
])
def test_display_name_across_naming_schemes(raw, words):
    assert display_name(raw) == words


@pytest.mark.parametrize(("raw", "key"), [
    ("car_(automobile)", "car"), ("car", "car"), ("Car", "car"), ("sofa", "couch"), ("tvmonitor", "tv"),
    ("aeroplane:wheel_2", "airplane:wheel"), ("car_(automobile):wheel", "car:wheel"), ("lear", "left ear"),
    ("mouse_(animal_rodent)", "mouse (animal)"), ("mouse_(computer_equipment)", "mouse"),
    ("cap_(headwear)", "cap (headwear)"), ("bottle:cap", "bottle:cap"),
    ("Tabasco_sauce", None), ("mug:gizmo", None), ("zork:handle", None), ("", None),
])
def test_canonical(raw, key):
    assert canonical(raw) == key


def test_an_lvis_suffix_never_resolves_to_a_part():
    # "tank_(storage_vessel)" is listed; "yoke_(animal_equipment)" is not, and must not become a sweater yoke
    assert canonical("tank_(storage_vessel)") == "storage tank"
    assert canonical("yoke_(animal_equipment)") is None
    assert canonical("yoke") == "yoke"


def test_category_key_groups_numbered_parts_and_unknown_names():
    assert category_key("wheel_1") == category_key("wheel_2") == "wheel"
    assert category_key("car_(automobile)") == category_key("car") == "car"
    assert category_key("Tabasco_sauce") == category_key("tabasco sauce") == "tabasco sauce"


@pytest.mark.parametrize("raw", ["", "   ", ":", "a:", ":b", "___", "(x)", "x:y:z", "wheel_", "42", "-merged",
                                 "mug:", "ü_(ö)", "a" * 300])
def test_unknown_and_odd_names_never_crash(raw):
    assert isinstance(display_name(raw), str)
    assert isinstance(plural(raw), str)
    assert isinstance(synonyms(raw), tuple)
    assert isinstance(hypernyms(raw), tuple)
    assert is_a(raw, "object") in (True, False)


def test_unknown_names_have_no_facts():
    assert hypernyms("Tabasco_sauce") == ()
    assert synonyms("Tabasco_sauce") == ("Tabasco sauce",)
    assert not is_a("Tabasco_sauce", "food")


# -- coverage ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("coco", COCO80), ("paco", PACO75), ("pascal_voc", VOC20), ("toyworld", TOY_OBJECTS),
    ("toyworld_parts", TOY_PARTS),
])
def test_vocabularies_list_each_source_exactly(name, expected):
    assert sorted(vocabulary(name)) == sorted(expected)


def test_paco_part_vocabulary_size():
    parts = vocabulary("paco_parts")
    assert len(parts) == 456
    assert len({p.split(":")[1] for p in parts}) == 200
    assert {p.split(":")[0] for p in parts} <= set(PACO75)


def test_unknown_vocabulary_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown vocabulary") as err:
        vocabulary("imagenet")
    assert "coco" in err.value.hint


@pytest.mark.parametrize("category", [*COCO80, *PACO75, *VOC20, *TOY_OBJECTS])
def test_every_object_category_has_a_chain_to_a_root_and_synonyms(category):
    # no minimum number of synonyms: many categories have no exact one ("puppy" is no dog synonym)
    chain = hypernyms(category)
    assert chain, category
    assert chain[-1] in ROOTS
    assert canonical(category) is not None
    assert synonyms(category)[0] == display_name(category)


@pytest.mark.parametrize("category", TOY_PARTS)
def test_every_toy_part_resolves_both_sides(category):
    obj, part = category.split(":")
    assert part_names(category) == (display_name(obj), display_name(part))
    chain = hypernyms(category)
    assert chain[0] == display_name(part)
    assert chain[-1] in ROOTS
    assert is_a(category, part)


@pytest.mark.parametrize("name", ["paco_parts", "pascal_part", "coco_panoptic_stuff"])
def test_every_listed_source_name_resolves(name):
    for raw in vocabulary(name):
        key = canonical(raw)
        assert key is not None, raw
        chain = hypernyms(raw)
        assert (chain[-1] if chain else key) in ROOTS, raw  # a root itself ("food") has no hypernyms


@pytest.mark.parametrize(("obj", "part"), PASCAL_FIXTURE_PARTS)
def test_pascal_part_fixture_names_resolve(obj, part):
    assert canonical(part) is not None
    assert canonical(f"{obj}:{part}") is not None
    words = display_name(part)
    assert "_" not in words and not any(ch.isdigit() for ch in words)
    assert hypernyms(part)[-1] == "part"


def test_the_toy_world_source_agrees_with_the_issue_lists():
    toyworld = pytest.importorskip("groundv.sources.toyworld")
    assert list(toyworld.TOYWORLD_CATEGORIES) == list(TOY_OBJECTS)
    parts = [f"{o}:{p}" for o, ps in toyworld.TOYWORLD_PARTS.items() for p in ps]
    assert sorted(parts) == sorted(TOY_PARTS)


# -- hypernyms ---------------------------------------------------------------------------------

def test_issue_examples():
    assert hypernyms("dog")[:2] == ("pet", "animal")
    assert hypernyms("mug")[:3] == ("cup", "container", "kitchenware")


@pytest.mark.parametrize(("category", "hypernym", "expected"), [
    ("dog", "pet", True), ("dog", "animal", True), ("dog", "living thing", True),
    ("mug", "cup", True), ("mug", "container", True), ("mug", "kitchenware", True), ("mug", "object", True),
    ("car_(automobile)", "vehicle", True), ("motorbike", "motor vehicle", True), ("diningtable", "furniture", True),
    ("mug:handle", "handle", True), ("person:lear", "ear", True), ("person:lear", "body part", True),
    ("lear", "ear", True), ("wheel_2", "part", True), ("dog", "dog", True), ("sofa", "couch", True),
    ("wine glass", "glass", True), ("sports ball", "toy", True), ("banana", "food", True),
    ("person", "animal", False), ("dog", "kitchenware", False), ("bucket", "kitchenware", False),
    ("mug:handle", "mug", False), ("mug", "handle", False), ("animal", "dog", False),
    ("Tabasco_sauce", "food", False), ("dog", "Tabasco_sauce", False),
    ("mug:handle", "mug:handle", True), ("mug:handle", "cup:handle", False),
])
def test_is_a(category, hypernym, expected):
    assert is_a(category, hypernym) is expected


def test_chains_list_every_node_before_its_own_hypernyms():
    tax = load_taxonomy()
    for key in tax.concrete_keys():
        chain = tax.ancestors(key)
        assert len(set(chain)) == len(chain), key
        for i, node in enumerate(chain):
            assert set(tax.ancestors(node)) <= set(chain[i + 1:]), (key, node)


def test_ancestors_of_unknown_key():
    with pytest.raises(KeyError):
        load_taxonomy().ancestors("flying saucer")


# -- plurals and synonyms ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("person", "people"), ("knife", "knives"), ("bus", "buses"), ("box", "boxes"), ("couch", "couches"),
    ("sheep", "sheep"), ("skis", "skis"), ("scissors", "scissors"), ("mouse", "mice"), ("tv", "TVs"),
    ("butterfly", "butterflies"), ("toy", "toys"), ("wine glass", "wine glasses"), ("hoof", "hooves"),
    ("handle of the mug", "handles of the mug"), ("mug:handle", "mug handles"), ("lear", "left ears"),
    ("wheel_2", "wheels"), ("dog:teeth", "dog teeth"), ("car_(automobile)", "cars"),
    ("Tabasco_sauce", "Tabasco sauces"),
    ("diningtable", "dining tables"), ("red mug", "red mugs"),
])
def test_plural(name, expected):
    assert plural(name) == expected


def test_synonyms_of_objects_and_parts():
    assert "automobile" in synonyms("car_(automobile)")
    assert "motorbike" in synonyms("motorcycle")
    assert synonyms("mug:handle")[:3] == ("mug handle", "handle of the mug", "mug's handle")
    assert "left ear of the person" in synonyms("person:lear")
    lowered = [s.lower() for s in synonyms("tv")]
    assert len(lowered) == len(set(lowered))


@pytest.mark.parametrize(("category", "names"), [
    ("car_(automobile):wheel", ("car", "wheel")), ("person:lear", ("person", "left ear")),
    ("aeroplane:engine_2", ("airplane", "engine")), ("zork:handle", ("zork", "handle")), ("dog", None),
    ("lear", None),
])
def test_part_names(category, names):
    assert part_names(category) == names

"""Plain referring expressions (RefCOCO-style): one phrase, exactly one object.

The baseline of ``groundv reproduce`` trains on these alone, as grounding models are trained on
RefCOCO/+/g before Ground-V is added. They are correct by construction from :class:`SceneFacts`:

- ``the mug`` — only when the mug is the one instance of its category, and the category is safe for
  "all" (no crowd region, exhaustively annotated: nothing unannotated could also be "the mug");
- ``the red mug`` — when every instance's colour is known and no other instance has this one;
- ``the leftmost mug``, ``the mug left of the car`` — :meth:`SceneFacts.expression`
  (``knowledge.distinguish``: unique in the image, or None).

Objects without any such phrase are skipped; never a guess. Each expression becomes an evaluation item
(DESIGN §3.2) with category ``referring``: the item contract accepts any category, and the training
code reads items as readily as samples.
"""

from __future__ import annotations

import numpy as np

from groundv.eval.records import Item
from groundv.sample import sample_id
from groundv.scene import Scene
from groundv.tasks.facts import SceneFacts

__all__ = ["REFERRING", "referring_expressions", "referring_items"]

#: the category name of plain referring items
REFERRING = "referring"


def referring_expressions(facts: SceneFacts, region_id: int) -> list[str]:
    """Every phrase naming the object ``region_id`` and nothing else in the scene (maybe none).

    Example:
        >>> from groundv import masks
        >>> from groundv.scene import Region, Scene
        >>> def mug(i, x0, colour):
        ...     m = np.zeros((40, 60), np.uint8); m[10:20, x0:x0 + 8] = 1
        ...     return Region(i, "object", "mug", 1, masks.encode(m), (x0, 10, 8, 10), attributes={"color": colour})
        >>> facts = SceneFacts(Scene(1, "a.jpg", 60, 40, "demo", (mug(1, 2, "red"), mug(2, 40, "blue"))))
        >>> referring_expressions(facts, 1)
        ['the red mug', 'the leftmost mug']
    """
    region = facts.regions[region_id]
    if region.kind != "object" or region.crowd or region.box is None:
        return []
    out = []
    group = facts.groups.get(region.key, ())
    if group == (region_id,) and facts.safe_for_all(region.key):
        out.append(f"the {region.name}")
    colours = facts.values(region.key, "color")
    if colours is not None and region.color is not None and colours.count(region.color) == 1:
        out.append(f"the {region.color} {region.name}")
    spatial = facts.expression(region_id)
    if spatial is not None:
        out.append(spatial)
    return out


def referring_items(scene: Scene, rng: np.random.Generator, *, limit: int = 3,
                    facts: SceneFacts | None = None) -> list[Item]:
    """Up to ``limit`` referring items for different objects of ``scene``, each with one of its phrases.

    Args:
        scene: the annotated image.
        rng: picks the objects and the phrasing (same state, same items).
        limit: the most items (one per object).
        facts: the scene's facts, when already built.
    """
    facts = facts if facts is not None else SceneFacts(scene)
    candidates = [(r.id, phrases) for r in scene.objects if (phrases := referring_expressions(facts, r.id))]
    order = rng.permutation(len(candidates))[:limit] if candidates else []
    items = []
    for index, position in enumerate(sorted(int(p) for p in order)):
        region_id, phrases = candidates[position]
        text = phrases[int(rng.integers(len(phrases)))]
        items.append(Item(id=sample_id(scene.source, scene.image_id, REFERRING, index, text),
                          image=scene.image_record(), expression=text, mask=scene.region(region_id).rle,
                          no_target=False, category=REFERRING))
    return items

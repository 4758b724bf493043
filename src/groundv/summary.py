"""What a source holds, counted: the table ``groundv inspect`` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from groundv.scene import Scene

__all__ = ["SourceSummary", "summarize"]


@dataclass
class SourceSummary:
    """Counts over the scenes of a source.

    Attributes:
        images: scenes read.
        regions: regions by kind (object, part, stuff).
        crowd: crowd regions.
        categories: regions per category.
        object_categories: object regions per category.
        absence_facts: verified-absent (image, category) pairs.
        images_with_absence: images with at least one absence fact.
        not_exhaustive: (image, category) pairs present but not exhaustively annotated.
        images_with_parts: images with at least one part region.
    """

    images: int = 0
    regions: Counter[str] = field(default_factory=Counter)
    crowd: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    object_categories: Counter[str] = field(default_factory=Counter)
    absence_facts: int = 0
    images_with_absence: int = 0
    not_exhaustive: int = 0
    images_with_parts: int = 0

    def add(self, scene: Scene) -> None:
        """Count one scene."""
        self.images += 1
        self.regions.update(r.kind for r in scene.regions)
        self.crowd += sum(r.iscrowd for r in scene.regions)
        self.categories.update(r.category for r in scene.regions)
        self.object_categories.update(r.category for r in scene.regions if r.kind == "object")
        self.absence_facts += len(scene.absent)
        self.images_with_absence += bool(scene.absent)
        self.not_exhaustive += len(scene.not_exhaustive)
        self.images_with_parts += any(r.kind == "part" for r in scene.regions)


def summarize(scenes: Iterable[Scene], progress: Callable[[Scene], None] | None = None) -> SourceSummary:
    """Count everything in ``scenes``; ``progress`` is called after each scene."""
    summary = SourceSummary()
    for scene in scenes:
        summary.add(scene)
        if progress is not None:
            progress(scene)
    return summary

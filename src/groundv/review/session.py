"""A review session on one dataset folder: its samples, scenes, verifier verdicts, log, queue and pictures.

Everything the web app does goes through :class:`ReviewSession`, so it can be used (and tested)
without a server. The dataset's shards are only read: a reviewer's edits live in ``reviews.jsonl``
and the pictures in ``.review-cache/``, both inside the dataset folder, and nothing is written
anywhere else.

Scenes (the regions a reviewer toggles) come from the source the manifest records
(:func:`groundv.export.base.open_dataset_source`), read in one pass on first use and kept for the
dataset's images. When the source cannot be reopened the session still works: the page shows the
sample's own mask and says why regions cannot be toggled.

Example:
    >>> session = ReviewSession("ds", reviewers=2)  # doctest: +SKIP
    >>> session.act(session.next("ana")["sample"], "ana", {"action": "accept"})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from groundv import knowledge, masks
from groundv.errors import ConfigError, GroundvError, InputError
from groundv.masks import RLE
from groundv.review.agreement import review_stats
from groundv.review.pictures import PictureCache, palette, region_order, zoom_for
from groundv.review.queue import ReviewQueue
from groundv.review.reviews import REASONS, ReviewLog, ReviewState
from groundv.scene import Scene
from groundv.store import read_lenient, read_manifest, sample_scene
from groundv.verify import VERDICTS_FILE

__all__ = ["ReviewError", "ReviewSession", "check_reviewer"]

_REVIEWER = re.compile(r"^[\w.@ -]{1,64}$", re.UNICODE)


class ReviewError(Exception):
    """A request the session refuses; ``status`` is the HTTP status the app answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def check_reviewer(name: Any) -> str:
    """A reviewer name (1–64 letters, digits, spaces, ``.@-_``), stripped.

    Raises:
        ReviewError: 400 for anything else.
    """
    if not isinstance(name, str) or not _REVIEWER.match(name.strip()):
        raise ReviewError(400, "a reviewer name is 1-64 letters, digits, spaces or . @ - _")
    return name.strip()


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class ReviewSession:
    """The state behind the review app (see the module docstring).

    Args:
        directory: a dataset folder from ``groundv generate``.
        reviewers: verdicts wanted per sample: 1, or 2 for the blind two-reviewer mode.
        seed: fixes the queue order.

    Raises:
        InputError: the folder is not a dataset or holds no sample.
    """

    def __init__(self, directory: str | Path, *, reviewers: int = 1, seed: int = 0) -> None:
        self.dir = Path(directory).resolve()
        self.manifest = read_manifest(self.dir)
        if reviewers not in (1, 2):
            raise ConfigError(f"--reviewers must be 1 or 2, got {reviewers}")
        self.reviewers = reviewers
        self.problems: list[tuple[str, str]] = []
        files = sorted(self.dir.glob("samples-*.jsonl"))
        self.samples: dict[str, dict[str, Any]] = {}
        for path in files:
            for _, record in read_lenient(path, lambda where, why: self.problems.append((where, why))):
                if isinstance(record.get("image"), dict) and "id" in record["image"] and "mask" in record:
                    self.samples[record["id"]] = record
                else:
                    self.problems.append((f"{path}: sample {record['id']}", "not a sample record"))
        if not self.samples:
            raise InputError("no samples to review here", file=self.dir,
                             hint="pass a folder written by groundv generate")
        self.verdicts: dict[str, dict[str, Any]] = {}
        verdicts = self.dir / VERDICTS_FILE
        if verdicts.is_file():
            for _, record in read_lenient(verdicts, lambda where, why: self.problems.append((where, why))):
                self.verdicts[record["id"]] = record
        self.log = ReviewLog(self.dir)
        self.queue = ReviewQueue(list(self.samples.values()), reviewers=reviewers, seed=seed)
        self.pictures = PictureCache(self.dir)
        self._scenes: dict[Any, Scene] | None = None
        self.scene_note: str | None = None
        self._scene_lock = threading.Lock()

    # -- lookups -----------------------------------------------------------------------------------

    @property
    def state(self) -> ReviewState:
        """The review log, replayed up to its last complete line."""
        return self.log.refresh()

    def sample(self, sid: str) -> dict[str, Any]:
        """The sample record with this id.

        Raises:
            ReviewError: 404 for an unknown id.
        """
        record = self.samples.get(sid)
        if record is None:
            raise ReviewError(404, f"no sample {sid!r} in this dataset")
        return record

    def scene(self, sample: dict[str, Any]) -> Scene | None:
        """The sample's scene with its regions, None when the source cannot give it (:attr:`scene_note`)."""
        with self._scene_lock:
            if self._scenes is None:
                self._scenes = {}
                try:
                    from groundv.export.base import open_dataset_source, scenes_for

                    wanted = {s["image"]["id"] for s in self.samples.values()}
                    self._scenes = scenes_for(open_dataset_source(self.dir), wanted)
                except GroundvError as exc:
                    self.scene_note = f"regions unavailable: {exc.message}"
        scene = self._scenes.get(sample["image"]["id"])
        if scene is None and self.scene_note is None:
            self.scene_note = "regions unavailable: the source no longer has this image"
        return scene

    def _picture_scene(self, sample: dict[str, Any]) -> Scene:
        return self.scene(sample) or sample_scene(sample, self.manifest, self.dir)

    def current(self, sid: str, reviewer: str) -> dict[str, Any]:
        """The sample as this reviewer has it now: text, targets and mask with their edits applied."""
        sample, review = self.sample(sid), self.state.review(sid, reviewer)
        targets = review.targets if review.targets is not None else list(sample["target_ids"])
        mask: RLE = review.mask if review.mask is not None else sample["mask"]
        return {"instruction": review.instruction if review.instruction is not None else sample["instruction"],
                "response": review.response if review.response is not None else sample["response"],
                "targets": targets, "no_target": not targets, "mask": mask}

    # -- the page ------------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """What the page needs once: mode, reason codes, the strata of the queue, corrupt lines."""
        strata: dict[tuple[str, str], int] = {}
        for category, source in self.queue.strata.values():
            strata[(category, source)] = strata.get((category, source), 0) + 1
        state = self.state
        return {"dataset": self.dir.name, "reviewers": self.reviewers, "reasons": REASONS,
                "strata": [{"category": c, "source": s, "samples": n} for (c, s), n in sorted(strata.items())],
                "problems": [{"where": w, "why": y} for w, y in [*self.problems, *state.corrupt]]}

    def next(self, reviewer: str, *, category: str | None = None, source: str | None = None,
             skip: list[str] | None = None) -> dict[str, Any]:
        """The next sample id for the reviewer (None when their queue is done) and their progress."""
        reviewer = check_reviewer(reviewer)
        state = self.state
        sid = self.queue.next(reviewer, state, category=category or None, source=source or None, skip=skip or [])
        return {"sample": sid, "progress": self.queue.progress(reviewer, state)}

    def view(self, sid: str, reviewer: str) -> dict[str, Any]:
        """Everything one screen shows for one sample, seen by ``reviewer`` (never another's verdict)."""
        reviewer = check_reviewer(reviewer)
        sample = self.sample(sid)
        review = self.state.review(sid, reviewer)
        now = self.current(sid, reviewer)
        scene = self.scene(sample)
        verdict = self.verdicts.get(sid)
        expected = set(verdict.get("expected_ids") or []) if verdict else set()
        regions = []
        if scene is not None:
            ordered = region_order(scene)
            number = {r.id: n for n, r in enumerate(ordered, 1)}
            for n, (r, colour) in enumerate(zip(ordered, palette(len(ordered)), strict=True), 1):
                regions.append({"n": n, "id": r.id, "name": knowledge.display_name(r.category),
                                "category": r.category, "kind": r.kind, "crowd": r.iscrowd,
                                "parent": number.get(r.parent_id) if r.parent_id is not None else None,
                                "colour": _hex(colour), "area": r.area, "target": r.id in now["targets"],
                                "original": r.id in sample["target_ids"], "flagged": r.id in review.flags,
                                "expected": r.id in expected})
        width = int(sample["image"]["width"])
        version = hashlib.sha1(now["mask"]["counts"].encode("ascii")).hexdigest()[:12]
        return {"id": sid, "category": sample["category"],
                "subtype": sample.get("subtype") or (sample.get("plan") or {}).get("subtype"),
                "level": sample.get("level"), "image": sample["image"], "teacher": sample.get("teacher"),
                "original": {"instruction": sample["instruction"], "response": sample["response"],
                             "targets": sample["target_ids"]},
                "current": {k: v for k, v in now.items() if k != "mask"},
                "verifier": None if verdict is None else {
                    "verdict": verdict.get("verdict"), "detail": verdict.get("detail"),
                    # an LLM verifier's model too ("openai gpt-4o-mini"), so its verdict reads apart from the rules'
                    "name": " ".join(str(v) for k in ("name", "model")
                                     if (v := (verdict.get("verifier") or {}).get(k))),
                    "expected": verdict.get("expected_ids")},
                "regions": regions, "scene_note": None if scene is not None else self.scene_note,
                "review": review.to_json(), "zoom": zoom_for(width),
                "layers": {"regions": f"/img/{sid}/regions.png",
                           "targets": f"/img/{sid}/targets.png?reviewer={quote(reviewer)}&v={version}"}}

    def stats(self) -> dict[str, Any]:
        """Acceptance and Cohen's κ per category (:func:`review_stats`), corrupt lines, the mode."""
        state = self.state
        return {"reviewers": self.reviewers, **review_stats(self.samples, state),
                "actions": state.count, "corrupt": [{"where": w, "why": y} for w, y in state.corrupt]}

    # -- pictures ------------------------------------------------------------------------------------

    def regions_png(self, sid: str) -> Path:
        """The cached regions layer of the sample's image."""
        return self.pictures.regions_png(self._picture_scene(self.sample(sid)))

    def targets_png(self, sid: str, reviewer: str) -> Path:
        """The cached targets layer of the sample's current mask for this reviewer."""
        return self.pictures.targets_png(sid, self.current(sid, check_reviewer(reviewer))["mask"])

    def region_at(self, sid: str, x: float, y: float) -> int | None:
        """The region id under the image point (x, y), None when there is none or no scene."""
        scene = self.scene(self.sample(sid))
        return None if scene is None else self.pictures.region_at(scene, x, y)

    # -- actions ---------------------------------------------------------------------------------------

    def act(self, sid: str, reviewer: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply one reviewer action (accept, reject, edit, toggle, flag, undo); returns the new view.

        Raises:
            ReviewError: 400 for a malformed action, 404 for an unknown sample or region, 409 when it
                cannot apply (nothing to undo, no regions to toggle, a crowd region).
        """
        reviewer = check_reviewer(reviewer)
        sample = self.sample(sid)
        kind = payload.get("action")
        record: dict[str, Any] = {"sample": sid, "reviewer": reviewer, "action": kind}
        review = self.state.review(sid, reviewer)
        if kind in ("accept", "reject"):
            record["note"] = payload.get("note") or ""
            if kind == "reject":
                record["reasons"] = payload.get("reasons")
        elif kind == "edit":
            record["instruction"], record["response"] = payload.get("instruction"), payload.get("response")
        elif kind in ("toggle", "flag"):
            scene = self.scene(sample)
            if scene is None:
                raise ReviewError(409, self.scene_note or "regions unavailable")
            region_id = payload.get("region")
            try:
                region = scene.region(int(region_id))  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                raise ReviewError(404, f"no region {region_id!r} in image {scene.image_id}") from None
            record["region"] = region.id
            if kind == "flag":
                record["flagged"] = region.id not in review.flags
            else:
                if region.iscrowd:
                    raise ReviewError(409, f"region {region.id} is a crowd region, which is never a target")
                targets = set(self.current(sid, reviewer)["targets"])
                targets ^= {region.id}
                record["targets"] = sorted(targets)
                record["mask"] = masks.union([scene.region(t).rle for t in sorted(targets)], size_hw=scene.size)
        elif kind == "undo":
            if not review.applied:
                raise ReviewError(409, "nothing to undo on this sample")
            record["undoes"] = review.applied[-1]
        try:
            self.log.append(record)
        except InputError as exc:
            raise ReviewError(400, exc.reason) from None
        return self.view(sid, reviewer)

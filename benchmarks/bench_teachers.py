"""What each LLM teacher mode costs: requests and prompt tokens per accepted sample.

Run: ``python benchmarks/bench_teachers.py [--toy-scenes 20] [--coco ../shared/data/coco]``

Every mode generates the same scenes (all five categories, up to 3 plans per unit) through the real
engine against :class:`~groundv.engine.fakeserver.FakeServer` on loopback, whose answer callback plays a
correct teacher (it copies each plan's targets, so every plan is accepted and no feedback retry is
needed). Per mode it reports the requests actually sent, the samples accepted, and prompt tokens per
accepted sample as :func:`groundv.engine.estimate.estimate_tokens` counts them (images by Anthropic's
``w·h/750`` rule — the fake server's own count, ``bytes / 4``, would bill a base64 image as text).
Modes: ``openai`` text, ``openai --vision`` (the image at ``--image-size``), ``paraphrase``, each with
one request per plan (``batch="plan"``), per unit (``"unit"``: one per image and category for all its
plans) and per image (``"image"``: one per image for every category's plans). Each mode's ratios are
against the per-plan mode of the same teacher and image settings, measured in the same run.
Then, per source, where the prompt tokens of the first per-image text request go (averaged per
request): the system prompt, the answer schema, the merged worked examples and the question (the
region list and the plans), for ``openai`` and ``paraphrase``.
Sources: the toy world (320×240) and, when present, the real COCO train2017 images of ``../shared/data``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from groundv.engine import faketeacher
from groundv.engine.estimate import estimate_tokens
from groundv.engine.fakeserver import FakeServer
from groundv.engine.request import ChatRequest
from groundv.engine.runner import SceneRunner, llm_settings
from groundv.generate import estimate, generate
from groundv.sources import Source, open_source
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.tasks.plan import CATEGORIES

#: (teacher, settings) of each family; each is run per plan, per unit and per image
FAMILIES: list[tuple[str, str, dict[str, Any]]] = [
    ("openai text", "openai", {}),
    ("openai vision 768", "openai", {"vision": True, "image_size": 768}),
    ("openai vision 384", "openai", {"vision": True, "image_size": 384}),
    ("paraphrase", "paraphrase", {}),
]
BATCHES: list[tuple[str, str]] = [("per plan", "plan"), ("per unit", "unit"), ("per image", "image")]


def measure(name: str, source: Source, teacher: str, options: dict[str, Any], work: Path) -> dict[str, Any]:
    """One mode on one source: the dry-run estimate, then the real run against a fresh fake server."""
    answer = faketeacher.paraphrase if teacher == "paraphrase" else faketeacher.correct
    with FakeServer(answer, keep_bodies=False) as server:
        llm = {"model": "fake-1", "base_url": f"{server.url}/v1", "concurrency": 16, **options}
        guess = estimate(source, teacher=teacher, llm=llm)
        start = time.perf_counter()
        manifest = generate(source, work / name.replace(" ", "_").replace(",", ""), teacher=teacher, llm=llm)
        seconds = time.perf_counter() - start
        sent = len(server.log)
    assert sent == guess["requests"], (name, sent, guess["requests"])  # no retries with a correct teacher
    assert manifest.rejected == 0, (name, manifest.rejections)
    accepted = manifest.samples
    return {"mode": name, "requests": sent, "accepted": accepted, "rejected": manifest.rejected,
            "req_per_sample": sent / accepted, "tokens_per_sample": guess["prompt_tokens"] / accepted,
            "images": guess["images"], "seconds": seconds}


def breakdown(source: Source, teacher: str) -> dict[str, float]:
    """Mean prompt tokens of a per-image text request, by part (estimate_tokens on the request cut down)."""
    run = llm_settings(teacher, CATEGORIES, 0, 3, model="fake-1", batch="image", base_url="http://127.0.0.1:9")
    runner = SceneRunner.build(run)
    parts = {"system": 0.0, "schema": 0.0, "examples": 0.0, "question": 0.0, "total": 0.0}
    requests = [r for scene in source for r in runner.asks(scene, CATEGORIES)]
    for r in requests:
        bare = estimate_tokens(ChatRequest(r.model, r.system, ()))
        schema = estimate_tokens(ChatRequest(r.model, r.system, (), r.schema)) - bare
        examples = estimate_tokens(ChatRequest(r.model, r.system, r.messages[:-1])) - bare
        total = estimate_tokens(r)
        for key, value in (("system", bare), ("schema", schema), ("examples", examples),
                           ("question", total - bare - schema - examples), ("total", total)):
            parts[key] += value / len(requests)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy-scenes", type=int, default=20)
    parser.add_argument("--coco", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/coco")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="groundv-bench-teachers-"))
    sources: list[tuple[str, Source]] = [
        (f"toy world, {args.toy_scenes} scenes (320×240)",
         ToyWorldSource(write_toyworld(work / "world", args.toy_scenes, seed=0)))]
    annotations = args.coco / "annotations" / "instances_train2017_subset.json"
    if annotations.is_file():
        sources.append(("COCO train2017 sample (real images)",
                        open_source("coco", annotations, images=args.coco / "train2017")))
    print("| source | mode | requests | accepted | requests / sample | prompt tokens / sample | images sent "
          "| requests vs per plan | tokens vs per plan | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, source in sources:
        for family, teacher, options in FAMILIES:
            base: dict[str, Any] = {}
            for how, batch in BATCHES:
                name = f"{family}, {how}"
                row = measure(name, source, teacher, {**options, "batch": batch},
                              work / label.split(",")[0].replace(" ", "_"))
                base = base or row
                print(f"| {label} | {row['mode']} | {row['requests']:,} | {row['accepted']:,} | "
                      f"{row['req_per_sample']:.2f} | {row['tokens_per_sample']:,.0f} | {row['images']:,} | "
                      f"{row['requests'] / base['requests']:.2f} | "
                      f"{row['tokens_per_sample'] / base['tokens_per_sample']:.2f} | {row['seconds']:.2f} |",
                      flush=True)
    print()
    print("| source | teacher | system | schema | examples | question (regions + plans) | total |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, source in sources:
        for teacher in ("openai", "paraphrase"):
            parts = breakdown(source, teacher)
            print(f"| {label} | {teacher} | " + " | ".join(f"{parts[k]:,.0f}" for k in
                                                         ("system", "schema", "examples", "question", "total")) + " |")


if __name__ == "__main__":
    main()

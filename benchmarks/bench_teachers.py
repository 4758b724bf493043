"""What each LLM teacher mode costs: requests and prompt tokens per accepted sample.

Run: ``python benchmarks/bench_teachers.py [--toy-scenes 20] [--coco ../shared/data/coco]``

Every mode generates the same scenes (all five categories, up to 3 plans per unit) through the real
engine against :class:`~groundv.engine.fakeserver.FakeServer` on loopback, whose answer callback plays a
correct teacher (it copies each plan's targets, so every plan is accepted and no feedback retry is
needed). Per mode it reports the requests actually sent, the samples accepted, and prompt tokens per
accepted sample as :func:`groundv.engine.estimate.estimate_tokens` counts them (images by Anthropic's
``w·h/750`` rule — the fake server's own count, ``bytes / 4``, would bill a base64 image as text).
Modes: ``openai`` text, ``openai --vision`` (the image at ``--image-size``), ``paraphrase``, each one
request per plan and ``--batch`` (one request per image and category for all its plans).
Sources: the toy world (320×240) and, when present, the 10 real COCO images of ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from groundv.engine.fakeserver import FakeServer
from groundv.generate import estimate, generate
from groundv.sources import Source, open_source
from groundv.sources.toyworld import ToyWorldSource, write_toyworld


def _asked(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The plans of the request's last question, and whether it is a batch (OpenAI wire shape)."""
    content = body["messages"][-1]["content"]
    text = content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")
    if "in order):\n" in text:
        return json.loads(text.split("in order):\n", 1)[1]), True
    return [json.loads(text.split("\n\nPlan:\n", 1)[1])], False


def correct(body: dict[str, Any]) -> str:
    """A teacher that follows every plan (the paraphrase draft reworded, for the paraphrase teacher)."""
    plans, batch = _asked(body)
    items = []
    for plan in plans:
        if "draft" in plan:
            draft = plan["draft"]
            items.append({"instruction": f"Please: {draft['instruction']}", "response": draft["response"]})
            continue
        facts = ", ".join(f"{k} {v}" for k, v in sorted(plan["facts"].items()))
        item = {"instruction": f"Segment what has {plan['subtype']}: {facts}.", "response": f"Done: {facts}.",
                "target_ids": plan["target_ids"], "subtype": plan["subtype"]}
        items.append({**item, "level": plan["level"]} if "level" in plan else item)
    return json.dumps({"samples": items} if batch else items[0])


MODES: list[tuple[str, str, dict[str, Any]]] = [
    ("openai text, per plan", "openai", {}),
    ("openai text, batch", "openai", {"batch": True}),
    ("openai vision 768, per plan", "openai", {"vision": True, "image_size": 768}),
    ("openai vision 768, batch", "openai", {"vision": True, "image_size": 768, "batch": True}),
    ("openai vision 384, batch", "openai", {"vision": True, "image_size": 384, "batch": True}),
    ("paraphrase, per plan", "paraphrase", {}),
    ("paraphrase, batch", "paraphrase", {"batch": True}),
]


def measure(name: str, source: Source, teacher: str, options: dict[str, Any], work: Path) -> dict[str, Any]:
    """One mode on one source: the dry-run estimate, then the real run against a fresh fake server."""
    with FakeServer(correct, keep_bodies=False) as server:
        llm = {"model": "fake-1", "base_url": f"{server.url}/v1", "concurrency": 16, **options}
        guess = estimate(source, teacher=teacher, llm=llm)
        start = time.perf_counter()
        manifest = generate(source, work / name.replace(" ", "_").replace(",", ""), teacher=teacher, llm=llm)
        seconds = time.perf_counter() - start
        sent = len(server.log)
    assert sent == guess["requests"], (name, sent, guess["requests"])  # no retries with a correct teacher
    accepted = manifest.samples
    return {"mode": name, "requests": sent, "accepted": accepted, "rejected": manifest.rejected,
            "req_per_sample": sent / accepted, "tokens_per_sample": guess["prompt_tokens"] / accepted,
            "images": guess["images"], "seconds": seconds}


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
          "| seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, source in sources:
        for name, teacher, options in MODES:
            row = measure(name, source, teacher, options, work / label.split(",")[0].replace(" ", "_"))
            print(f"| {label} | {row['mode']} | {row['requests']:,} | {row['accepted']:,} | "
                  f"{row['req_per_sample']:.2f} | {row['tokens_per_sample']:,.0f} | {row['images']:,} | "
                  f"{row['seconds']:.2f} |", flush=True)


if __name__ == "__main__":
    main()

"""``groundv demo``: the whole pipeline on the built-in toy world."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from groundv.cli._app import _check_out, _command, _handles_errors, _parent, _progress, app, out
from groundv.cli._tables import _metrics_table, _stats_tables, _summary_table
from groundv.cli.sources import _write_toyworld
from groundv.summary import summarize


@app.command("demo")
@_handles_errors
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where results go.")] = Path("out/demo"),
    scenes: Annotated[int, typer.Option(min=1, help="Toy-world scenes to generate.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the toy world and of generation.")] = 0,
) -> None:
    """Run the whole pipeline that exists so far on the built-in toy world and say where results are.

    Render the toy world, read it back as COCO + PACO-style annotations, summarise it, show what the
    offline teacher knows about the busiest scene, generate a dataset of all five categories with the
    rules teacher, print its statistics and draw one sample of each category.

    Example: groundv demo --out out/demo
    """
    from groundv.generate import generate
    from groundv.render import draw_sample, load_image, save_render
    from groundv.sources.toyworld import ToyWorldSource
    from groundv.store import iter_samples, sample_scene

    world = _write_toyworld(_check_out(out_dir, "folder") / "toyworld", scenes, seed)
    source = ToyWorldSource(world)
    busiest: list[Any] = []
    with _progress() as bar:
        task = bar.add_task("reading toy world", total=len(source))

        def step(scene: Any) -> None:
            bar.advance(task)
            if not busiest or len(scene.objects) > len(busiest[0].objects):
                busiest[:] = [scene]

        summary = summarize(source, progress=step)
    scene = busiest[0]
    overlay = save_render(scene, out_dir / "renders" / f"scene-{scene.image_id}.png")
    out.print(_summary_table(f"toy world ({scenes} scenes, seed {seed})", summary, source))
    out.print(_facts_table(scene))

    dataset = out_dir / "dataset"
    info = {"format": "toyworld", "path": str(world.resolve()), "images": str((world / "images").resolve()),
            "scenes": scenes, "world_seed": seed}
    with _progress() as bar:
        task = bar.add_task("generating (rules teacher)", total=len(source))
        manifest = generate(source, dataset, seed=seed, source_info=info, force=True,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
    for table in _stats_tables(manifest, dataset):
        out.print(table)
    first: dict[str, dict[str, Any]] = {}
    for sample in iter_samples(dataset):
        first.setdefault(sample["category"], sample)
    drawn = []
    for category, sample in first.items():
        path = out_dir / "samples" / f"{category}.png"
        draw_sample(sample, load_image(sample_scene(sample, manifest, dataset))).save(_parent(path))
        drawn.append((category, sample["id"], path))

    items, baseline = _demo_evaluation(dataset, out_dir / "eval")

    out.print(f"\n[bold]Results[/] in {out_dir}/")
    out.print(f"  toy world (images, instances.json, parts.json): {world}")
    out.print(f"  image {scene.image_id}, every region outlined and labelled: {overlay}")
    out.print(f"  dataset ({manifest.samples:,} samples, {manifest.rejected:,} rejections): {dataset}")
    for category, sample_id, path in drawn:
        out.print(f"  a {category} sample ({sample_id}): {path}", soft_wrap=True)
    out.print(f"  evaluation items from the dataset: {items}; the 'always no target' baseline: {baseline}")
    out.print(f"  look again with: {_command('groundv', 'stats', dataset)}", soft_wrap=True)
    out.print("Next:", soft_wrap=True)
    out.print(f"  check it by hand in the browser: {_command('groundv', 'review', dataset)}   (the 'review' extra)",
              soft_wrap=True)
    out.print(f"  have a model word it: {_command('groundv', 'generate', '--world', world, '--out', 'ds')} "
              "--teacher openai --model M --base-url URL --dry-run", soft_wrap=True)
    out.print("  see the paper's effect on a laptop: groundv reproduce --quick   (the 'student' extra)", soft_wrap=True)


def _demo_evaluation(dataset: Path, eval_dir: Path) -> tuple[Path, Path]:
    """Score the simplest model, one that always answers "no target", on the dataset's samples."""
    from groundv import masks
    from groundv.benchmarks import read_benchmark
    from groundv.eval import read_items, write_jsonl
    from groundv.eval.run import evaluate

    items = _parent(eval_dir / "items.jsonl")
    write_jsonl(read_benchmark("groundv", [dataset], split="all"), items)
    baseline = eval_dir / "always-no-target.jsonl"
    write_jsonl(({"id": item.id, "mask": masks.empty(*item.size), "no_target": True} for item in read_items(items)),
                baseline)
    result = evaluate(items, baseline, "gres")
    out.print(_metrics_table("gres: a model that always answers 'no target', per Ground-V category",
                             result.metrics))
    return items, baseline


def _facts_table(scene: Any) -> Table:
    """What the offline teacher knows about each object of a scene, from the knowledge files and pixels."""
    import numpy as np

    from groundv import knowledge
    from groundv.render import load_image

    pixels = np.asarray(load_image(scene))
    table = Table(title=f"What the offline teacher knows about image {scene.image_id}")
    for column in ("region", "object", "colour (pixels)", "is a", "used", "parts", "singled out as"):
        table.add_column(column)
    for region in scene.objects:
        parts = sorted({knowledge.display_name(p.part_name or p.category) for p in scene.children(region.id)})
        table.add_row(str(region.id), knowledge.display_name(region.category),
                      knowledge.colour_name(pixels, region.rle) or "-",
                      " → ".join(knowledge.hypernyms(region.category)[:2]) or "-",
                      (knowledge.affordances(region.category) or ("-",))[0], ", ".join(parts) or "-",
                      knowledge.distinguish(scene, region.id) or "-")
    return table

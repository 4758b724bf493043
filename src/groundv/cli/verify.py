"""``groundv verify``: checking every sample's targets with a second teacher."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from groundv.cli._app import (
    _LLM,
    ApiKeyEnvOption,
    BaseUrlOption,
    ConcurrencyOption,
    ImageSizeOption,
    MaxTokensOption,
    ModelOption,
    PriceCompletionOption,
    PricePromptOption,
    TemperatureOption,
    VisionOption,
    _check_out,
    _handles_errors,
    _progress,
    app,
    err,
    out,
)
from groundv.errors import ConfigError


@app.command("verify")
@_handles_errors(interrupted="the verdicts so far are kept in {directory}/verdicts.jsonl; run the same command to "
                             "resume")
def verify_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    teacher: Annotated[str, typer.Option(
        "--teacher", help="The second teacher: rules (offline, re-derives the targets from the recorded facts), "
                          "openai or anthropic (a model names the targets).")] = "rules",
    drop_disagreeing: Annotated[Path | None, typer.Option(
        "--drop-disagreeing", metavar="OUT",
        help="Write OUT/samples-00000.jsonl with only the samples the verifier agrees with.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty OUT.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    api_key_env: ApiKeyEnvOption = None,
    vision: VisionOption = False,
    image_size: ImageSizeOption = 768,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    concurrency: ConcurrencyOption = 16,
    max_cost: Annotated[float | None, typer.Option(
        min=0.0, help="Stop once verification's spend on this dataset reaches this (resumable).",
        rich_help_panel=_LLM)] = None,
    max_requests: Annotated[int | None, typer.Option(
        min=0, help="Stop after this many paid verifier requests for the dataset (resumable).",
        rich_help_panel=_LLM)] = None,
    price_prompt: PricePromptOption = 0.0,
    price_completion: PriceCompletionOption = 0.0,
    cache: Annotated[Path | None, typer.Option(
        help="The response cache (default DIR/teacher-cache.sqlite, the one generation uses).",
        rich_help_panel=_LLM)] = None,
) -> None:
    """Check every sample's targets with a second teacher; write the verdicts to DIR/verdicts.jsonl.

    Verdicts: agree, disagree (the verifier's targets are kept) or unsure. --teacher rules re-derives the
    targets from the sample's recorded plan and the scene; --teacher openai|anthropic --model M asks a model
    to name the regions the instruction means (cached; spend counted in DIR/verifier-ledger.jsonl; at
    --max-cost or --max-requests it stops with exit code 3). Resumable: samples this verifier already
    verdicted are skipped.

    Example: groundv verify ds --teacher openai --model gpt-4o-mini --drop-disagreeing ds-agreed
    """
    from groundv.engine.ledger import BudgetExhausted
    from groundv.verify import VERDICTS, verify

    given = [flag for flag, value in (("--model", model), ("--base-url", base_url), ("--api-key-env", api_key_env),
                                      ("--vision", vision), ("--max-cost", max_cost),
                                      ("--max-requests", max_requests), ("--cache", cache),
                                      ("--temperature", temperature), ("--max-tokens", max_tokens))
             if value not in (None, False)]
    if drop_disagreeing is not None:
        _check_out(drop_disagreeing, "folder", "--drop-disagreeing")
    if cache is not None:
        _check_out(cache, "file", "--cache")
    llm: dict[str, Any] | None = None
    if teacher == "rules" and given:
        raise ConfigError(f"{', '.join(given)} go with an LLM verifier, not --teacher rules",
                          hint="add --teacher openai | anthropic")
    if teacher != "rules":
        params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        llm = {"model": model, "base_url": base_url, "api_key_env": api_key_env, "vision": vision,
               "image_size": image_size, "params": params, "concurrency": concurrency, "max_cost": max_cost,
               "max_requests": max_requests, "prices": (price_prompt, price_completion), "cache": cache}
    with _progress() as bar:
        task = bar.add_task(f"verifying ({teacher})", total=None)
        try:
            summary = verify(directory, teacher=teacher, llm=llm, drop_disagreeing=drop_disagreeing, force=force,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
        except BudgetExhausted as stop:
            bar.stop()
            err.print(f"[bold yellow]stopped:[/] {escape(stop.message)}", highlight=False, soft_wrap=True)
            err.print(f"verdicts so far are saved in {escape(str(directory / 'verdicts.jsonl'))}; run the same "
                      "command with a higher cap to resume (answers already received are cached)", soft_wrap=True)
            raise typer.Exit(3) from None
    table = Table(title=f"Verdicts ({teacher}{f' {model}' if model and teacher != 'rules' else ''})")
    table.add_column("category", style="bold")
    for verdict in VERDICTS:
        table.add_column(verdict, justify="right")
    for category, counts in sorted(summary.by_category.items()):
        table.add_row(category, *(f"{counts[v]:,}" for v in VERDICTS))
    table.add_row("all", *(f"{summary.total[v]:,}" for v in VERDICTS), style="bold")
    out.print(table)
    new = ", ".join(f"{summary.new[v]:,} {v}" for v in VERDICTS)
    out.print(f"verdicted {sum(summary.new.values()):,} samples ({new}); {summary.skipped_existing:,} already "
              f"verdicted; wrote [bold]{escape(str(summary.verdicts))}[/]", highlight=False)
    for where, why in summary.corrupt[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    if len(summary.corrupt) > 10:
        err.print(f"... and {len(summary.corrupt) - 10:,} more corrupt lines", highlight=False)
    if summary.out is not None:
        out.print(f"kept {summary.kept:,} agreeing samples in "
                  f"[bold]{escape(str(summary.out / 'samples-00000.jsonl'))}[/]", highlight=False)

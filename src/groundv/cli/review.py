"""``groundv review`` and ``split``: human review and the test split made from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from groundv.cli._app import _handles_errors, app, err, out
from groundv.cli._tables import _rate
from groundv.errors import ConfigError


@app.command("review")
@_handles_errors
def review_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    host: Annotated[str, typer.Option(help="Address to bind; any non-loopback address needs the printed token.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    reviewers: Annotated[int, typer.Option(
        min=1, max=2, help="Verdicts per sample: 2 shows each sample to two reviewers, blind.")] = 1,
    reviewer: Annotated[str | None, typer.Option(
        help="Your name, stored with every verdict (else the page asks for it).")] = None,
    seed: Annotated[int, typer.Option(help="Fixes the order of the stratified queue.")] = 0,
) -> None:
    """Review samples in a local web page: accept, reject, edit, toggle targets; verdicts go to DIR/reviews.jsonl.

    Example: groundv review ds --reviewers 2
    """
    from groundv.review.app import serve
    from groundv.review.session import ReviewError, ReviewSession, check_reviewer

    session = ReviewSession(directory, reviewers=reviewers, seed=seed)
    if reviewer is not None:
        try:
            reviewer = check_reviewer(reviewer)
        except ReviewError as exc:
            raise ConfigError(f"--reviewer: {exc.message}") from None
    for where, why in session.problems[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    out.print(f"reviewing {len(session.samples):,} samples of [bold]{escape(str(directory))}[/] "
              f"({'two reviewers, blind' if reviewers == 2 else 'one reviewer'}); verdicts go to "
              f"[bold]{escape(str(session.log.path))}[/]", highlight=False, soft_wrap=True)
    serve(session, host=host, port=port, reviewer=reviewer,
          announce=lambda url, who: out.print(f"open [bold cyan]{escape(url)}[/]{f' {who}' if who else ''}  "
                                              "(Ctrl+C stops)", highlight=False, soft_wrap=True))


@app.command("split")
@_handles_errors
def split_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A reviewed dataset folder.")],
    test_from_reviews: Annotated[bool, typer.Option(
        "--test-from-reviews", help="Make DIR/test.jsonl from the samples every reviewer accepted.")] = False,
    reviewers: Annotated[int, typer.Option(
        min=1, max=2, help="Verdicts a sample needs: 2 (accepted by both reviewers) or 1.")] = 2,
) -> None:
    """Write the Ground-V test split: samples accepted by both reviewers, edits applied, to DIR/test.jsonl.

    The manifest's test_split records the discard rate per category and Cohen's κ. Read it back with
    groundv items --benchmark groundv DIR --split test.

    Example: groundv split ds --test-from-reviews
    """
    from groundv.split import make_test_split

    if not test_from_reviews:
        raise ConfigError("say where the split comes from", hint="pass --test-from-reviews")
    report = make_test_split(directory, reviewers=reviewers)
    table = Table(title=f"Test split (accepted by {reviewers} reviewer{'s' if reviewers > 1 else ''})")
    for column in ("category", "reviewed", "kept", "discarded", "discard rate", "Cohen's κ", "pending"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, row in report.by_category.items():
        kappa = "—" if row["kappa"] is None else f"{row['kappa']:.3f}"
        table.add_row(category, f"{row['reviewed']:,}", f"{row['kept']:,}", f"{row['discarded']:,}",
                      _rate(row["discard_rate"]), kappa, f"{row['pending']:,}")
    table.add_row("all", f"{report.reviewed:,}", f"{report.kept:,}", f"{report.discarded:,}",
                  _rate(report.discard_rate), "", f"{report.pending:,}", style="bold")
    out.print(table)
    for where, why in report.corrupt[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    out.print(f"wrote {report.kept:,} test samples ({report.edited:,} edited by a reviewer) to "
              f"[bold]{escape(str(report.path))}[/]", highlight=False)

"""The Typer app and what its commands share: error handling, progress bars, the LLM options, small helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from groundv import __version__
from groundv.errors import ConfigError, GroundvError, InputError

app = typer.Typer(
    name="groundv",
    help="Ground-V: turn pixel annotations into instruction→mask grounding data, and evaluate grounding models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def _handles_errors(fn: F) -> F:
    """Turn groundv errors into ``error:``/``hint:`` lines and an exit code (the traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GroundvError as exc:
            if _state["debug"]:
                raise
            # soft_wrap: a long path stays on one line, so the message can be grepped and copied.
            err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
            if exc.hint:
                err.print(f"[bold]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2 if isinstance(exc, InputError | ConfigError) else 1) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"groundv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# The LLM options `generate` and `verify` share, declared once.
_LLM = "LLM teachers and verifiers"
ModelOption = Annotated[str | None, typer.Option(help="The model name.", rich_help_panel=_LLM)]
BaseUrlOption = Annotated[str | None, typer.Option(
    help="The endpoint (default OpenAI's or Anthropic's API).", rich_help_panel=_LLM)]
ApiKeyEnvOption = Annotated[str | None, typer.Option(
    help="The environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY when "
         "set; a local server needs none).", rich_help_panel=_LLM)]
VisionOption = Annotated[bool, typer.Option("--vision", help="Send the image with numbered region marks.",
                                            rich_help_panel=_LLM)]
ImageSizeOption = Annotated[int, typer.Option(min=64, help="--vision: the image's longer side, in pixels.",
                                              rich_help_panel=_LLM)]
TemperatureOption = Annotated[float | None, typer.Option(min=0.0, help="Sampling temperature.", rich_help_panel=_LLM)]
MaxTokensOption = Annotated[int | None, typer.Option(min=1, help="The longest answer, in tokens.",
                                                     rich_help_panel=_LLM)]
ConcurrencyOption = Annotated[int, typer.Option(min=1, help="The most requests in flight.", rich_help_panel=_LLM)]
PricePromptOption = Annotated[float, typer.Option(min=0.0, help="Price per million prompt tokens.",
                                                  rich_help_panel=_LLM)]
PriceCompletionOption = Annotated[float, typer.Option(min=0.0, help="Price per million completion tokens.",
                                                      rich_help_panel=_LLM)]

"""The Typer app and what its commands share: error handling, progress bars, the LLM options, small helpers."""

from __future__ import annotations

import errno
import functools
import os
import shlex
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from groundv import __version__
from groundv.errors import ConfigError, GroundvError, GroundvWarning, InputError

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


#: errno → what to do about an OSError on a user's path (the library checks what it can; these are the rest)
_PATH_HINTS = {
    errno.ENOENT: "check the path: a file or folder in it does not exist",
    errno.EEXIST: "a file or folder of that name is in the way: choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder, but a file is needed: give a file name",
    errno.EACCES: "you may not read or write there: check its permissions or choose another path",
    errno.EPERM: "you may not read or write there: check its permissions or choose another path",
    errno.EROFS: "the file system is read-only: choose another path",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
    errno.ENOSPC: "the disk is full: free some space or write somewhere else",
    errno.EDQUOT: "the disk quota is used up: free some space or write somewhere else",
}
#: of those, the ones that are the user's usage mistake (exit code 2) rather than the machine's state (1)
_USAGE_ERRNOS = frozenset(_PATH_HINTS) - {errno.ENOSPC, errno.EDQUOT}
_PACKAGE = Path(__file__).resolve().parents[1]


def _user_os_error(exc: OSError) -> bool:
    """Whether ``exc`` is about the user's files (not groundv's own): those get error + hint, others a traceback."""
    if exc.errno not in _PATH_HINTS:
        return False
    names = [n for n in (exc.filename, exc.filename2) if isinstance(n, str | bytes | os.PathLike)]
    return not any(Path(os.fsdecode(n)).resolve().is_relative_to(_PACKAGE) for n in names)


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    # soft_wrap: a long path stays on one line, so the message can be grepped and copied.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err.print(f"[bold]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


def _handles_errors(fn: F | None = None, *, interrupted: str | None = None) -> Any:
    """Turn groundv errors into ``error:``/``hint:`` lines and an exit code (the traceback with --debug).

    An OSError about a user's path (a folder where a file goes, no permission, a full disk) is reported
    the same way; any other exception is a bug and keeps its traceback. Ctrl+C prints one line, with
    ``interrupted`` (formatted with the command's arguments: what is kept and how to resume) when given,
    and exits 130.

    Example: ``@_handles_errors`` or ``@_handles_errors(interrupted="... kept in {out_dir} ...")``.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except GroundvError as exc:
                if _state["debug"]:
                    raise
                _fail(exc.message, exc.hint, 2 if isinstance(exc, InputError | ConfigError) else 1)
            except OSError as exc:
                if _state["debug"] or not _user_os_error(exc):
                    raise
                where = ": ".join(str(n) for n in (exc.filename, exc.filename2) if n is not None)
                _fail(f"{where}: {exc.strerror}" if where else str(exc.strerror or exc), _PATH_HINTS[exc.errno],
                      2 if exc.errno in _USAGE_ERRNOS else 1)
            except KeyboardInterrupt:
                if _state["debug"]:
                    raise
                # Say it, so an interrupted run is not mistaken for a finished one; 130 = 128 + SIGINT.
                text = interrupted.format(**kwargs) if interrupted else None
                err.print(f"\n[bold yellow]interrupted[/]{f': {escape(text)}' if text else ''}", highlight=False,
                          soft_wrap=True)
                raise typer.Exit(130) from None

        return wrapper  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """``warnings.showwarning`` for the command line: a :class:`GroundvWarning` (data repaired or
    ignored, naming file and record) prints as ``warning: …``; any other warning as Python prints it."""
    if issubclass(category, GroundvWarning):
        err.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


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


def _check_out(path: Path, kind: Literal["folder", "file", "image"], flag: str = "--out") -> Path:
    """Refuse an output path that cannot be written before any work is done; returns ``path``.

    ``folder``: it must not be a file; ``file``: it must not be a folder; ``image``: a file whose name ends
    in an extension Pillow can write (.png, .jpg, ...). In every case no existing part of its parents may
    be a file.

    Raises:
        ConfigError: what is wrong, with a hint naming ``flag``.
    """
    if kind == "folder":
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{flag} {path} is a file, not a folder", hint=f"give {flag} a folder (new or existing)")
    elif path.is_dir():
        example = path / ("picture.png" if kind == "image" else "cache.sqlite" if flag == "--cache" else "out.jsonl")
        raise ConfigError(f"{flag} {path} is a folder, not a file", hint=f"give {flag} a file name, e.g. {example}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{flag} {path} cannot be written: {parent} is a file, not a folder",
                                  hint=f"choose another {flag}")
            break
    if kind == "image":
        from PIL import Image

        Image.init()
        writable = sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE)
        if path.suffix.lower() not in writable:
            raise ConfigError(f"{flag} {path}: cannot tell the picture format from "
                              f"{repr(path.suffix) if path.suffix else 'a name without an extension'}",
                              hint=f"end {flag} in .png (or {', '.join(e for e in writable if e in _PICTURES)})")
    return path


_PICTURES = (".jpg", ".jpeg", ".webp", ".bmp", ".tif")


def _command(*words: object) -> str:
    """A shell command line to print as a next step: every word quoted for the shell, markup escaped."""
    return escape(" ".join(shlex.quote(str(w)) for w in words))


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

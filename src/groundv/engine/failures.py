"""Why a chat call failed, as the engine sees it.

The tree::

    GroundvError (groundv.errors)
    ├── TeacherUnavailable     the endpoint kept failing (429, 5xx, timeouts) past the retry budget
    ├── TeacherRefused         the endpoint rejected the request itself (401, 404, a 400 on the prompt):
    │                          retrying cannot help, so it fails at once with the server's message
    └── EngineStopped          the run is stopping (another request failed): nothing new is sent
    Exception
    └── TransientFailure       one attempt failed in a way worth retrying (5xx, timeout, connection
        └── Throttled          error, an unreadable body); Throttled is a 429 and carries Retry-After

A client raises :class:`TransientFailure` / :class:`Throttled` / :class:`TeacherRefused`; only the engine
turns a run of transient failures into :class:`TeacherUnavailable`. No message ever contains an API key.
"""

from __future__ import annotations

import re

from groundv.errors import GroundvError

# How servers say a prompt is too long (OpenAI, vLLM, llama.cpp: "maximum context length", code
# "context_length_exceeded"; others: "exceeds the context window").
_CONTEXT = re.compile(r"context[_ ](length|window)|maximum context", re.IGNORECASE)

__all__ = ["EngineStopped", "TeacherRefused", "TeacherUnavailable", "Throttled", "TransientFailure"]


class TransientFailure(Exception):
    """One attempt failed in a way that another attempt may not.

    Args:
        endpoint: the URL that was called.
        status: the HTTP status, or a word (``timeout``, ``connection``, ``bad body``, ``bad json``, ``length``).
        detail: the server's message or the transport error, shortened.
    """

    def __init__(self, endpoint: str, status: int | str, detail: str = "") -> None:
        self.endpoint = endpoint
        self.status = status
        self.detail = detail
        super().__init__(f"{endpoint}: {status}" + (f": {detail}" if detail else ""))


class Throttled(TransientFailure):
    """HTTP 429; ``retry_after`` is the server's wait in seconds (None when it gave none)."""

    def __init__(self, endpoint: str, retry_after: float | None, detail: str = "") -> None:
        super().__init__(endpoint, 429, detail)
        self.retry_after = retry_after


class TeacherUnavailable(GroundvError):
    """The endpoint did not give a usable answer within the retry budget.

    Args:
        endpoint: the URL that was called.
        attempts: how many attempts were made.
        last: the last attempt's failure.
    """

    def __init__(self, endpoint: str, attempts: int, last: TransientFailure) -> None:
        self.endpoint = endpoint
        self.status = last.status
        # Every attempt was answered, but never with usable JSON: the model's failing, not the endpoint's.
        self.answer_unusable = last.status in ("bad json", "length")
        super().__init__(
            f"{endpoint} gave no usable answer after {attempts} attempts (last: {last.status}"
            + (f": {last.detail}" if last.detail else "") + ")",
            hint="check that the server is up and not overloaded; lower --concurrency or try again later "
                 "(answers already received are cached and will not be paid again)",
        )


class TeacherRefused(GroundvError):
    """The endpoint rejected the request (a 4xx other than 429); the message is the server's.

    Args:
        endpoint: the URL that was called.
        status: the HTTP status.
        detail: the server's error message.
    """

    def __init__(self, endpoint: str, status: int, detail: str) -> None:
        self.endpoint = endpoint
        self.status = status
        self.detail = detail
        hint = {401: "check the API key's environment variable", 403: "check the API key's permissions",
                404: "check --base-url and --model"}.get(status)
        if _CONTEXT.search(detail):
            hint = ("the prompt does not fit the model's context: use a smaller --batch (image > unit > plan), "
                    "a model with a longer context, or start the server with a larger one (llama.cpp: --n_ctx)")
        super().__init__(f"{endpoint} refused the request (HTTP {status}): {detail}", hint=hint)


class EngineStopped(GroundvError):
    """The engine was stopped (:meth:`Engine.stop <groundv.engine.engine.Engine.stop>`) and sends nothing new.

    Args:
        why: the failure that stopped the run.
    """

    def __init__(self, why: BaseException) -> None:
        self.why = why
        super().__init__(f"the run is stopping: {why}")

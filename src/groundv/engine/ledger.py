"""The token and cost ledger: what a run (and every earlier run on the same file) has paid for.

Every answer the endpoint sends back is paid for, usable or not, so every one is recorded; answers
from the response cache are free and never recorded. With a ``path`` the ledger is an append-only
JSON-lines file, one line per paid answer (``{"key", "model", "prompt_tokens", "completion_tokens",
"cost", "time"}``), summed when it is opened: ``--max-cost`` and ``--max-requests`` then cap the whole
job across stops and resumes, not just one process. A corrupt line (e.g. cut by a crash mid-write) is
reported as a :class:`~groundv.errors.GroundvWarning` naming the file and line, and skipped.

:meth:`Ledger.check` is called before each paid attempt. The request cap counts attempts in flight,
so it is never exceeded; the cost of an answer is only known when it arrives, so with ``concurrency``
requests in flight the cost cap may be overshot by at most ``concurrency`` answers.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import orjson

from groundv.errors import GroundvError, GroundvWarning
from groundv.store import append_line

__all__ = ["BudgetExhausted", "Ledger", "Prices"]


class BudgetExhausted(GroundvError):
    """No further paid request may start: the cost or request cap is reached.

    Raised the moment the cap is hit, while answers already paid for are still on their way; the
    caller lets them land, then calls :meth:`settle` so the message says what was paid in the end.
    """

    def __init__(self, message: str, *, hint: str | None = None, ledger: Path | None = None,
                 cap: str = "", limit: float = 0.0) -> None:
        super().__init__(message, hint=hint)
        self.ledger, self.cap, self.limit = ledger, cap, limit

    def settle(self) -> None:
        """Rewrite the message from the ledger file's totals (no-op for an in-memory ledger)."""
        if self.ledger is not None:
            self.message = Ledger(self.ledger).cap_message(self.cap, self.limit)


@dataclass(frozen=True)
class Prices:
    """Prices per million tokens, in whatever currency the user reads ``--max-cost`` in.

    Example:
        >>> Prices(prompt_per_mtok=3.0, completion_per_mtok=15.0).cost(1000, 200)
        0.006
    """

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The cost of one answer."""
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


class Ledger:
    """Counts paid answers and refuses new paid requests past a cap.

    Args:
        path: the JSON-lines file (appended to; summed at open and again before every check, so processes
            sharing one file share one budget), or None to count in memory only.
        prices: per-million-token prices.
        max_cost: stop starting paid requests once this much is spent (None: no cap).
        max_requests: stop once this many paid answers exist, counting those in flight (None: no cap).
    """

    def __init__(self, path: str | Path | None = None, prices: Prices | None = None,
                 max_cost: float | None = None, max_requests: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.prices = prices or Prices()
        self.max_cost = max_cost
        self.max_requests = max_requests
        self._lock = threading.Lock()
        self._spent = 0.0
        self._requests = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0
        # How far the file has been read (bytes, lines): the totals are always the file's, so several
        # processes appending to one ledger (Ray actors) each see what the others paid.
        self._offset = 0
        self._lines = 0
        self._catch_up()

    def _catch_up(self) -> None:
        """Add the complete lines appended to the file since the last read (by anyone) to the totals."""
        if self.path is None:
            return
        try:
            if self.path.stat().st_size <= self._offset:
                return
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        self._offset += end
        for line in chunk[:end].splitlines():
            self._lines += 1
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
                cost, prompt, completion = float(entry["cost"]), int(entry["prompt_tokens"]), \
                    int(entry["completion_tokens"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                warnings.warn(f"{self.path}: line {self._lines}: not a ledger entry, skipped", GroundvWarning,
                              stacklevel=4)
                continue
            self._spent += cost
            self._requests += 1
            self._prompt_tokens += prompt
            self._completion_tokens += completion

    def __repr__(self) -> str:
        return (f"Ledger(path={str(self.path) if self.path else None!r}, spent={self._spent:.6g}, "
                f"requests={self._requests}, max_cost={self.max_cost}, max_requests={self.max_requests})")

    @property
    def spent(self) -> float:
        """Total cost of every paid answer so far (earlier runs included)."""
        return self._spent

    @property
    def requests(self) -> int:
        """How many paid answers so far."""
        return self._requests

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens paid for so far."""
        return self._prompt_tokens

    @property
    def completion_tokens(self) -> int:
        """Completion tokens paid for so far."""
        return self._completion_tokens

    def check(self, in_flight: int = 0) -> None:
        """Raise :class:`BudgetExhausted` if no further paid request may start.

        Args:
            in_flight: paid requests already started and not yet answered (they count against ``max_requests``).
        """
        with self._lock:
            self._catch_up()
        if self.max_cost is not None and self._spent >= self.max_cost:
            raise BudgetExhausted(self.cap_message("cost", self.max_cost),
                                  hint="answers so far are saved; raise --max-cost and run again to resume",
                                  ledger=self.path, cap="cost", limit=self.max_cost)
        if self.max_requests is not None and self._requests + in_flight >= self.max_requests:
            raise BudgetExhausted(self.cap_message("requests", self.max_requests, in_flight),
                                  hint="answers so far are saved; raise --max-requests and run again to resume",
                                  ledger=self.path, cap="requests", limit=self.max_requests)

    def cap_message(self, cap: str, limit: float, in_flight: int = 0) -> str:
        """What a stop at the ``cap`` (``cost`` or ``requests``) says, from the totals read so far."""
        if cap == "cost":
            return f"the cost cap is reached: spent {self._spent:.4f} of --max-cost {limit:g}"
        return (f"the request cap is reached: {self._requests} paid requests"
                + (f" (+{in_flight} in flight)" if in_flight else "") + f" of --max-requests {limit:g}")

    def record(self, key: str, model: str, usage: dict[str, int]) -> float:
        """Record one paid answer and return its cost (appended and flushed to the file before returning)."""
        prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        cost = self.prices.cost(prompt, completion)
        with self._lock:
            if self.path is None:
                self._spent += cost
                self._requests += 1
                self._prompt_tokens += prompt
                self._completion_tokens += completion
            else:
                line = orjson.dumps({"key": key, "model": model, "prompt_tokens": prompt,
                                     "completion_tokens": completion, "cost": cost, "time": round(time.time(), 3)})
                # One locked O_APPEND write per line (lines from several processes never interleave),
                # after closing a line torn by a crash, which would otherwise swallow this one.
                self.path.parent.mkdir(parents=True, exist_ok=True)
                append_line(self.path, line, sync=False)
                self._catch_up()  # counts this line, and any other process's appended before it
        return cost

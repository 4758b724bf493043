"""The response cache: every answer received, keyed by the content of its request.

A SQLite file in WAL mode, so several processes on one machine can read and write it at once (a
writer waits up to ``busy_timeout`` seconds for another's lock). Each :meth:`ResponseCache.put` is its
own transaction, committed before the answer is handed to the caller: a ``kill -9`` right after an
answer was received never loses it, and a re-run or resume never pays for it again. WAL with
``synchronous=NORMAL`` survives any process crash; only a power cut may lose the last commits.

The key is :meth:`ChatRequest.key` (model, parameters, prompt version, texts, image bytes hash); the
value is the answer's text, model, usage, finish reason and structured-output mode.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import orjson

from groundv.engine.request import ChatResponse

__all__ = ["ResponseCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    response BLOB NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Answers by request key, in a SQLite file shared safely between processes.

    Args:
        path: the database file (created with its parent folders).
        busy_timeout: seconds to wait for another process's write lock.

    Example:
        >>> import tempfile
        >>> cache = ResponseCache(Path(tempfile.mkdtemp()) / "cache.sqlite")
        >>> cache.put("k", ChatResponse(text="{}", model="m"))
        >>> cache.get("k").cached, cache.get("missing")
        (True, None)
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The engine calls the cache from its event-loop thread and sync callers from theirs; one
        # connection behind a lock is simpler than a pool and each call takes well under a millisecond.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._set_up(busy_timeout)

    def _set_up(self, busy_timeout: float) -> None:
        # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked"
        # at once, without its busy handler, when another process is doing the same at that moment
        # (two workers starting together on a fresh cache). So the set-up retries on its own.
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    def get(self, key: str) -> ChatResponse | None:
        """The cached answer for ``key`` (``cached=True``, ``cost=0``), or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = orjson.loads(row[0])
        return ChatResponse(text=data["text"], model=data["model"], usage=data["usage"],
                            finish_reason=data["finish_reason"], mode=data["mode"], cached=True, cost=0.0)

    def put(self, key: str, response: ChatResponse) -> None:
        """Store ``response`` under ``key``, durably, before returning (replaces an earlier answer)."""
        blob = orjson.dumps({"text": response.text, "model": response.model, "usage": response.usage,
                             "finish_reason": response.finish_reason, "mode": response.mode})
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, response, created) VALUES (?, ?, ?)",
                             (key, blob, time.time()))

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

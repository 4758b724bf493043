"""Running LLM requests: concurrency with AIMD back-off, retries, a response cache and a cost ledger.

- :mod:`~groundv.engine.request`: :class:`ChatRequest` / :class:`ChatResponse`, provider-neutral.
- :mod:`~groundv.engine.clients`: :func:`make_client` for OpenAI-compatible and Anthropic endpoints.
- :mod:`~groundv.engine.engine`: :class:`Engine` (cache → budget → AIMD → retries → cache).
- :mod:`~groundv.engine.cache`: :class:`ResponseCache`, SQLite, shared by processes.
- :mod:`~groundv.engine.ledger`: :class:`Ledger`, :class:`Prices`, :class:`BudgetExhausted`.
- :mod:`~groundv.engine.limiter`: :class:`AimdLimiter`.
- :mod:`~groundv.engine.estimate`: :func:`estimate_tokens` for ``--dry-run``.
- :mod:`~groundv.engine.failures`: :class:`TeacherUnavailable`, :class:`TeacherRefused`, :class:`EngineStopped`.
- :mod:`~groundv.engine.fakeserver`: a fault-injecting loopback server for tests and benchmarks;
  :mod:`~groundv.engine.faketeacher`: answers for it that play a teacher.
"""

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import ChatClient, make_client
from groundv.engine.engine import Engine, EngineStats, run_sync
from groundv.engine.estimate import estimate_tokens
from groundv.engine.failures import EngineStopped, TeacherRefused, TeacherUnavailable
from groundv.engine.ledger import BudgetExhausted, Ledger, Prices
from groundv.engine.limiter import AimdLimiter
from groundv.engine.request import ChatRequest, ChatResponse, image_part, text_part

__all__ = [
    "AimdLimiter",
    "BudgetExhausted",
    "ChatClient",
    "ChatRequest",
    "ChatResponse",
    "Engine",
    "EngineStats",
    "EngineStopped",
    "Ledger",
    "Prices",
    "ResponseCache",
    "TeacherRefused",
    "TeacherUnavailable",
    "estimate_tokens",
    "image_part",
    "make_client",
    "run_sync",
    "text_part",
]

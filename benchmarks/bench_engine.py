"""Engine benchmark: achieved requests/s against a fixed-latency server, and the engine's own cost per request.

Run: ``python benchmarks/bench_engine.py [--requests 3000] [--concurrency 64] [--latency 0.2]``

The fake chat server (:mod:`groundv.engine.fakeserver`) runs in its own process, so it does not share
this process's interpreter lock, and answers every request after exactly ``--latency`` seconds. With
``concurrency`` requests in flight the bound is ``concurrency / latency`` requests/s (64 / 0.2 s = 320);
the goal is ≥ 90 % of it. Measurements, each on fresh distinct requests:

- ``httpx, one pool``: a bare ``httpx.AsyncClient`` posting the same OpenAI-shaped bodies under an
  ``asyncio.Semaphore(concurrency)`` — what a naive client gets (httpcore 1.0's pool bookkeeping is
  quadratic in its connections, see ``groundv.engine.clients._Pools``);
- ``client.send``: the engine's transport alone (the client's small pools), under the same semaphore,
  no cache, no ledger, no AIMD, no retries — the floor the engine's overhead is measured against;
- ``engine``: :class:`groundv.engine.Engine` with a SQLite response cache and a JSON-lines ledger on
  disk, structured output (every answer parsed as JSON), AIMD window at ``concurrency``;
- ``engine, cache hits``: the same requests again, all answered by the cache;
- the same ``httpx`` / ``engine`` pair at latency 0, where the client's CPU is the limit.

Client CPU per request (this process's user+system time / requests) minus the ``client.send`` floor is the
engine's overhead per request; the server's CPU share shows whether it could be the bottleneck.
Figures go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from groundv.engine import ChatRequest, Engine, Ledger, Prices, ResponseCache, make_client
from groundv.engine.clients import OpenAIClient

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def requests(n: int, tag: str) -> list[ChatRequest]:
    """``n`` distinct small requests (a 3-shot-sized prompt of ~1.5 kB each)."""
    system = "You write grounding instructions. " * 40
    return [ChatRequest(model="bench", system=system, schema=SCHEMA, prompt_version="bench/v1",
                        messages=({"role": "user", "content": f"{tag} question {i}"},), params={"temperature": 0})
            for i in range(n)]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_httpx(url: str, batch: list[ChatRequest], concurrency: int) -> None:
    """The floor: bare httpx under a semaphore."""
    shaper = OpenAIClient(url, api_key_env=None)
    bodies = [orjson.dumps(shaper._body(r, "json_schema")) for r in batch]
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=512)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        async def one(body: bytes) -> None:
            async with semaphore:
                reply = await http.post(shaper.endpoint, content=body, headers={"content-type": "application/json"})
                orjson.loads(reply.json()["choices"][0]["message"]["content"])
        await asyncio.gather(*(one(b) for b in bodies))


async def run_client(url: str, batch: list[ChatRequest], concurrency: int) -> None:
    """The engine's transport alone: ``ChatClient.send`` under a semaphore (no cache, ledger, AIMD, retries)."""
    client = make_client("openai", url, api_key_env=None)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(request: ChatRequest) -> None:
        async with semaphore:
            orjson.loads((await client.send(request)).text)
    await asyncio.gather(*(one(r) for r in batch))
    await client.aclose()


async def run_engine(url: str, batch: list[ChatRequest], concurrency: int, workdir: Path) -> dict:
    """The engine with a cache and a ledger on disk."""
    cache = ResponseCache(workdir / "cache.sqlite")
    ledger = Ledger(workdir / "ledger.jsonl", Prices(1.0, 2.0))
    client = make_client("openai", url, api_key_env=None)
    async with Engine(client, cache=cache, ledger=ledger, concurrency=concurrency) as engine:
        answers = await asyncio.gather(*(engine.chat(r) for r in batch))
        stats = engine.stats
    cache.close()
    return {"cached": sum(a.cached for a in answers), "retries": stats.retries, "window": stats.min_window}


def measure(what: str, url: str, server_pid: int, batch: list[ChatRequest], concurrency: int, workdir: Path) -> dict:
    """One timed run: wall seconds, requests/s, client and server CPU per request."""
    cpu, server_cpu, start = cpu_seconds(), cpu_seconds(server_pid), time.perf_counter()
    extra = {}
    if what == "httpx, one pool":
        asyncio.run(run_httpx(url, batch, concurrency))
    elif what == "client.send":
        asyncio.run(run_client(url, batch, concurrency))
    else:
        extra = asyncio.run(run_engine(url, batch, concurrency, workdir))
    wall = time.perf_counter() - start
    n = len(batch)
    return {"what": what, "n": n, "seconds": wall, "rate": n / wall,
            "client_ms": 1000 * (cpu_seconds() - cpu) / n,
            "server_ms": 1000 * (cpu_seconds(server_pid) - server_cpu) / n, **extra}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process; returns it and its OpenAI base URL."""
    process = subprocess.Popen([sys.executable, "-m", "groundv.engine.fakeserver", "--latency", str(latency)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip() + "/v1"


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    bound = c / args.latency
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, httpx {httpx.__version__}")
    print(f"{n} requests, concurrency {c}, server latency {args.latency:g} s → bound {bound:.0f} req/s\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency in (args.latency, 0.0):
            server, url = start_server(latency)
            try:
                workdir = Path(tmp) / f"latency{latency:g}"
                workdir.mkdir()
                label = f"latency {latency:g} s"
                rows.append((label, measure("httpx, one pool", url, server.pid, requests(n, f"h{latency}"), c,
                                            workdir)))
                rows.append((label, measure("client.send", url, server.pid, requests(n, f"c{latency}"), c, workdir)))
                batch = requests(n, f"e{latency}")
                rows.append((label, measure("engine", url, server.pid, batch, c, workdir)))
                if latency:
                    rows.append((label, {**measure("engine", url, server.pid, batch, c, workdir),
                                         "what": "engine, cache hits"}))
            finally:
                server.terminate()
                server.wait()
    print("| run | client | requests | seconds | req/s | × bound | client CPU ms/req | server CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in rows:
        share = f"{r['rate'] / bound:.2f}" if label.endswith(f"{args.latency:g} s") and args.latency else "–"
        print(f"| {label} | {r['what']} | {r['n']} | {r['seconds']:.2f} | {r['rate']:.0f} | {share} | "
              f"{r['client_ms']:.2f} | {r['server_ms']:.2f} |")
    floor = {label: r["client_ms"] for label, r in rows if r["what"] == "client.send"}
    for label, r in rows:
        if r["what"] == "engine":
            overhead = r["client_ms"] - floor[label]
            print(f"\nengine overhead over client.send ({label}): {overhead:.2f} ms CPU per request"
                  f" (retries {r['retries']}, smallest window {r['window']})")


if __name__ == "__main__":
    main()

"""Sandbox throughput over loopback: simple reads/s and batch items/s, beside a baseline.

The baseline is a bare Starlette app answering a constant JSON body on the same stack
(uvicorn, loopback, the same client, the same request), so the ratio shows what the
sandbox's own work costs. Each server runs in its own process (one core); the client is one
keep-alive connection per server, and the two take ``--rounds`` short turns; the ratio is the
median of the turns' ratios. The machine's load average is printed with the figures.

    python bench/sandbox_throughput.py [--seconds 3] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2

from meta_agent.sandbox.config import DEFAULT_TOKEN

TOKEN = DEFAULT_TOKEN
ACCOUNT = "act_1234567890"
BASELINE_APP = """
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def ok(request):
    return JSONResponse({"id": "act_1234567890", "name": "Sandbox India (INR)"})
app = Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])
uvicorn.run(app, host="127.0.0.1", port=%d, log_level="warning", lifespan="off")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(argv: list[str], url: str) -> Iterator[float]:
    """Start a server process; yield how long it took to answer its first request."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        while True:
            try:
                httpx2.get(url, timeout=0.5)
                break
            except httpx2.TransportError:
                if time.perf_counter() - started > 20:
                    raise RuntimeError(f"server {argv} did not start") from None
                time.sleep(0.02)
        yield time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def rate(seconds: float, call: Callable[[], int]) -> float:
    """Units per second of ``call`` (which returns how many units it did) over ``seconds``."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += call()
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="reading time per server")
    parser.add_argument("--rounds", type=int, default=6, help="turns the servers take")
    args = parser.parse_args()
    sandbox_port, baseline_port = free_port(), free_port()
    sandbox_cmd = [sys.executable, "-m", "meta_agent", "sandbox", "--port", str(sandbox_port)]
    baseline_cmd = [sys.executable, "-c", BASELINE_APP % baseline_port]
    base, baseline_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{baseline_port}"
    # Both servers get the very same request (path, query, client), so the ratio is the
    # sandbox's own work and not the client's cost of encoding a query the baseline lacked.
    params = {"access_token": TOKEN, "fields": "id,name,currency"}
    slice_s = args.seconds / args.rounds
    load_before = os.getloadavg()[0]
    with (
        server(baseline_cmd, f"{baseline_url}/") as _,
        server(sandbox_cmd, f"{base}/_sandbox/health") as ready_s,
        httpx2.Client(base_url=baseline_url) as plain,
        httpx2.Client(base_url=base) as client,
    ):
        # Short turns, one server after the other: a load spike on this shared machine
        # hits both alike, and each turn's ratio compares like with like.
        baseline, reads = [], []
        for _ in range(args.rounds):
            baseline.append(rate(slice_s, lambda: _get(plain, f"/v25.0/{ACCOUNT}", params)))
            reads.append(rate(slice_s, lambda: _get(client, f"/v25.0/{ACCOUNT}", params)))
        batch = [{"method": "GET", "relative_url": f"{ACCOUNT}?fields=id,name"}] * 50
        body = {"access_token": TOKEN, "batch": json.dumps(batch)}
        items = rate(args.seconds, lambda: _batch(client, body))
    ratio = statistics.median(r / b for r, b in zip(reads, baseline, strict=True))
    base_rate, read_rate = statistics.median(baseline), statistics.median(reads)
    print(f"sandbox ready in                 {ready_s:8.2f} s   (target < 2 s)")
    print(f"baseline constant-JSON reads/s   {base_rate:8.0f}")
    print(
        f"sandbox node reads/s             {read_rate:8.0f}   ratio {ratio:4.2f}   "
        f"(median of {args.rounds} turns; target >= 0.8 and >= 500/s)"
    )
    print(
        f"sandbox batch items/s            {items:8.0f}   ratio {items / base_rate:4.2f}   "
        "(50 items a batch)"
    )
    print(
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"on {os.cpu_count()} CPUs"
    )


def _get(client: httpx2.Client, url: str, params: dict[str, str] | None = None) -> int:
    response = client.get(url, params=params)
    response.raise_for_status()
    return 1


def _batch(client: httpx2.Client, body: dict[str, str]) -> int:
    response = client.post("/v25.0/", data=body)
    response.raise_for_status()
    return len(response.json())


if __name__ == "__main__":
    main()

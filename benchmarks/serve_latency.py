"""Requests/s and p50/p99 latency of a served generator under a bounded local load.

Start the server first, in another process, e.g.
    mlflow models serve -m models:/dcgan-mnist-generator@champion --env-manager local -p 5001
then
    python benchmarks/serve_latency.py --url http://127.0.0.1:5001/invocations

Each request asks for --batch images (16: the 4×4 grid). --concurrency client threads send
at most --requests requests in all and stop after --max-seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:5001/invocations")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args()

    body = {"inputs": np.random.default_rng(0).standard_normal((args.batch, 100)).tolist()}
    for _ in range(args.warmup):
        requests.post(args.url, json=body, timeout=60).raise_for_status()

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    remaining = iter(range(args.requests))

    def client() -> None:
        nonlocal errors
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    if next(remaining, None) is None:
                        return
                start = time.perf_counter()
                ok = session.post(args.url, json=body, timeout=60).ok
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        for _ in range(args.concurrency):
            pool.submit(client)
    wall = time.perf_counter() - started
    ms = sorted(1000 * x for x in latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    print(f"{len(ms)} requests of {args.batch} images, {args.concurrency} clients, "
          f"{wall:.1f} s: {len(ms) / wall:.1f} requests/s, {len(ms) * args.batch / wall:.0f} "
          f"images/s, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, {errors} errors")


if __name__ == "__main__":
    main()

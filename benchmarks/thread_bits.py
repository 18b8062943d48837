"""What decides a training's bits on one CPU host: the train stage run on params.yaml's run,
cut to ``--iterations``, once per setting of the threads and the visible cores, each in a
fresh process; prints the generator's sha256 and the last state digest of each, so that
equal rows are the same bits (docs/reproducibility.md: What decides the bits).

    python benchmarks/thread_bits.py --iterations 200 --out benchmarks/results/thread_bits_<host>.json

Settings: ``intra`` and ``inter`` are runtime.train.intra_op_threads and inter_op_threads
(0: TensorFlow's choice); ``cpus`` runs the stage under `taskset -c` (all: no taskset).
Needs data/prepared/dataset.npz (dvc pull, or dvc repro prepare).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

from gan_pipeline.formats.files import write_json
from gan_pipeline.platform_record import describe
from gan_pipeline.training.runtime import resolve_precision
from gan_pipeline.training.state_digests import read_json
from gan_pipeline.verification.replay import OUTPUTS, prefix_params

REPO = Path(__file__).resolve().parents[1]
# (intra, inter, cpus): the two measured facts of issue 44 first, then inter-op's.
SETTINGS = [(1, 0, None), (2, 0, None), (0, 0, None), (2, 0, "0"), (0, 0, "0"),
            (2, 1, None), (2, 2, None)]


def run_once(raw: dict, data: Path, intra: int, inter: int, cpus: str | None,
             timeout_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="thread-bits-") as tmp:
        work = Path(tmp)
        params = json.loads(json.dumps(raw))
        params["runtime"]["train"].update(intra_op_threads=intra, inter_op_threads=inter)
        (work / "params.yaml").write_text(yaml.safe_dump(params))
        (work / "data/prepared").mkdir(parents=True)
        (work / "data/prepared/dataset.npz").symlink_to(data.resolve())
        taskset = ["taskset", "-c", cpus] if cpus is not None else []
        start = time.monotonic()
        done = subprocess.run(
            [*taskset, sys.executable, str(REPO / "stages/train.py"), "--params", "params.yaml",
             "--data", "data/prepared/dataset.npz",
             *[a for flag, path in OUTPUTS.items() for a in (flag, path)]],
            cwd=work, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
            capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            sys.exit(f"thread_bits: the run with intra {intra}, inter {inter}, cpus {cpus} "
                     f"failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        generator = hashlib.sha256((work / OUTPUTS["--generator"]).read_bytes()).hexdigest()
        digests = read_json(work / OUTPUTS["--state-digests"])
        return {"intra_op_threads": intra, "inter_op_threads": inter,
                "cpus": cpus or "all", "generator_sha256": generator,
                "state_sha256": digests[-1].state_sha256,
                "seconds": round(time.monotonic() - start, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--params", type=Path, default=REPO / "params.yaml")
    p.add_argument("--data", type=Path, default=REPO / "data/prepared/dataset.npz")
    p.add_argument("--settings", nargs="+", metavar="INTRA,INTER,CPUS",
                   help="instead of the default rows, e.g. 2,0,all 2,0,0")
    p.add_argument("--timeout-s", type=float, default=900)
    p.add_argument("--out", help="where to write the rows (JSON)")
    args = p.parse_args()
    raw = prefix_params(yaml.safe_load(args.params.read_text()), args.iterations)
    raw["train"]["sample_interval"] = args.iterations
    settings = SETTINGS if not args.settings else [
        (int(intra), int(inter), None if cpus == "all" else cpus)
        for intra, inter, cpus in (s.split(",") for s in args.settings)]
    rows = []
    for intra, inter, cpus in settings:
        row = run_once(raw, args.data, intra, inter, cpus, args.timeout_s)
        rows.append(row)
        print(f"intra {intra} inter {inter} cpus {row['cpus']:>3}: generator "
              f"{row['generator_sha256'][:8]}, state {row['state_sha256'][:8]} "
              f"({row['seconds']} s)", flush=True)
    host = describe(resolve_precision(raw["runtime"]["train"]["precision"]), 0, 0)
    result = {"date": date.today().isoformat(), "iterations": args.iterations,
              "host": host["cpu"].get("model_name", "?"), "class": host["class"]["id"],
              "visible_cpus": len(os.sched_getaffinity(0)), "rows": rows}
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()

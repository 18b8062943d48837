"""What each change of the recipe contributes: runs that take one change out of it, or add
one candidate to it, each with the comparison's wall-clock budget (the minutes of
compare/params.yaml, or ``--minutes``).

    python benchmarks/recipe_ablation.py --out /tmp/recipe_ablation.md  # then into docs/recipe.md

Each row trains through the comparison's own stage (``stages/compare_run.py``: params.yaml
with the row's changes, its minutes of training, then ``evaluate`` on
``evaluate.samples`` images), so its numbers sit beside those of ``dvc repro
compare/dvc.yaml``: the table starts with that comparison's book and recipe rows, read from
``reports/compare/``. Row 1 runs the recipe itself on this host; when it runs, the other
rows' differences are taken against it rather than against the comparison's recipe, which
may come from another host. One seed per row: row 2 (another seed) shows how far one
run's fid moves by chance, so read only differences larger than that. ``--keep DIR``
keeps each row's outputs (its fid curve is DIR/row<N>/quality.csv). Needs
data/prepared/dataset.npz and models/classifier.keras (or --data, --classifier).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from gan_pipeline.platform_record import cpu_info

REPO = Path(__file__).resolve().parents[1]
EVERY_RECIPE_KEY = "*"  # a row that takes out the whole recipe of --compare, whatever its keys

# The fused generator pass and the discriminator at 8e-4: the pair that rows 48-55 add.
PAIR = {"train.fused_generator_pass": True, "train.adam.discriminator_learning_rate": 0.0008}

# (what the row does, the recipe keys it takes out, what it adds or changes), against the
# recipe of compare/params.yaml. Rows keep their numbers, which docs/recipe.md cites: a row
# always runs today's recipe with its change, so a row run again may differ from its table.
# Row 1 is the recipe itself, on this host: the comparison's own run may come from another.
ROWS: list[tuple[str, tuple[str, ...], dict]] = [
    ("the recipe, on this host (the reference of the rows after it)", (), {}),
    ("the recipe with train.seed 43: one seed's spread", (), {"train.seed": 43}),
    ("- two time-scales (the discriminator at the generator's 2e-4)",
     ("train.adam.discriminator_learning_rate",), {}),
    ("- two time-scales, with train.seed 43", ("train.adam.discriminator_learning_rate",),
     {"train.seed": 43}),
    ("label smoothing 0.25 instead of 0.1", (), {"train.label_smoothing": 0.25}),
    ("batch 32 instead of 64", (), {"train.batch_size": 32}),
    ("+ fused generator pass", (), {"train.fused_generator_pass": True}),
    # 0.999 per iteration is a 693-iteration half-life: 44,000 images at batch 64.
    ("+ EMA of the generator, half-life 44,000 images", (), {"train.ema": 44.0}),
    ("- one-sided label smoothing 0.1", ("train.label_smoothing",), {}),
    ("- batch 64 (the book's 128)", ("train.batch_size",), {}),
    ("- Adam 2e-4 and 4e-4, beta_1 0.5 (one Keras-default Adam, the book's)",
     ("train.adam.learning_rate", "train.adam.beta_1",
      "train.adam.discriminator_learning_rate"), {}),
    # A cooldown needs the run's end: run these at a fixed --iterations.
    ("+ learning-rate cooldown over the last 25 %", (), {"train.lr_cooldown": 0.25}),
    ("+ top-k generator updates, k = half the batch", (), {"train.top_k": 0.5}),
    ("+ cooldown 25 % and top-k 0.5", (), {"train.lr_cooldown": 0.25, "train.top_k": 0.5}),
    ("+ learning-rate cooldown over the last 25 %, with train.seed 43", (),
     {"train.lr_cooldown": 0.25, "train.seed": 43}),
    ("+ EMA, half-life 10,000 images (ramped up)", (), {"train.ema": 10.0}),
    ("+ spectral normalisation of the discriminator", (), {"train.spectral_norm": True}),
    # StyleGAN2-ADA's heuristic gamma, 0.0002 · side² / batch: 0.00245 for 28² at 64.
    ("+ lazy R1, gamma 0.0025 every 16 iterations", (), {"train.r1_gamma": 0.0025}),
    ("+ model.arch dcgan_lite (half the generator, 1.5 × the discriminator)", (),
     {"model.arch": "dcgan_lite"}),
    ("+ top-k generator updates, k = half the batch, with train.seed 43", (),
     {"train.top_k": 0.5, "train.seed": 43}),
    ("+ lazy R1, gamma 0.0025 every 16 iterations, with train.seed 43", (),
     {"train.r1_gamma": 0.0025, "train.seed": 43}),
    ("+ lazy R1 and spectral normalisation", (),
     {"train.r1_gamma": 0.0025, "train.spectral_norm": True}),
    # R1 is the recipe's since these rows' set: they take it out to measure without it.
    ("- lazy R1 + spectral normalisation, with train.seed 43", ("train.r1_gamma",),
     {"train.spectral_norm": True, "train.seed": 43}),
    ("- lazy R1 + EMA, half-life 10,000 images (ramped up), with train.seed 43",
     ("train.r1_gamma",), {"train.ema": 10.0, "train.seed": 43}),
    ("- lazy R1 + EMA, half-life 10,000 images (ramped up)", ("train.r1_gamma",),
     {"train.ema": 10.0}),
    # R1's gamma around the recipe's, each on two seeds where one was not conclusive.
    ("lazy R1 gamma 0.000625 instead of 0.0025", (), {"train.r1_gamma": 0.000625}),
    ("lazy R1 gamma 0.01 instead of 0.0025", (), {"train.r1_gamma": 0.01}),
    ("lazy R1 gamma 0.01, with train.seed 43", (), {"train.r1_gamma": 0.01, "train.seed": 43}),
    ("lazy R1 gamma 0.04 instead of 0.01", (), {"train.r1_gamma": 0.04}),
    ("lazy R1 gamma 0.04 instead of 0.01, with train.seed 43", (),
     {"train.r1_gamma": 0.04, "train.seed": 43}),
    ("lazy R1 gamma 0.02 instead of 0.01", (), {"train.r1_gamma": 0.02}),
    ("lazy R1 gamma 0.02 instead of 0.01, with train.seed 43", (),
     {"train.r1_gamma": 0.02, "train.seed": 43}),
    ("+ fused generator pass (the recipe with gamma 0.02)", (),
     {"train.fused_generator_pass": True}),
    ("+ fused generator pass (the recipe with gamma 0.02), with train.seed 43", (),
     {"train.fused_generator_pass": True, "train.seed": 43}),
    # Round three (issue 46): the levers of R1-regularised GANs, each on two seeds.
    ("Adam beta_1 0 and beta_2 0.99 (StyleGAN2's) instead of 0.5 and 0.999", (),
     {"train.adam.beta_1": 0.0, "train.adam.beta_2": 0.99}),
    ("Adam beta_1 0 and beta_2 0.99, with train.seed 43", (),
     {"train.adam.beta_1": 0.0, "train.adam.beta_2": 0.99, "train.seed": 43}),
    ("batch 128 (the book's) with R1 0.02", (), {"train.batch_size": 128}),
    ("batch 128 with R1 0.02, with train.seed 43", (),
     {"train.batch_size": 128, "train.seed": 43}),
    ("batch 32 with R1 0.02", (), {"train.batch_size": 32}),
    ("batch 32 with R1 0.02, with train.seed 43", (), {"train.batch_size": 32, "train.seed": 43}),
    ("the discriminator at 4 × the generator's rate (8e-4) instead of 2 ×", (),
     {"train.adam.discriminator_learning_rate": 0.0008}),
    ("the discriminator at 4 × the generator's rate, with train.seed 43", (),
     {"train.adam.discriminator_learning_rate": 0.0008, "train.seed": 43}),
    ("lazy R1 every 4 iterations instead of 16", (), {"train.r1_interval": 4}),
    ("lazy R1 every 4 iterations, with train.seed 43", (),
     {"train.r1_interval": 4, "train.seed": 43}),
    ("+ minibatch standard deviation in the discriminator", (), {"model.minibatch_stddev": True}),
    ("+ minibatch standard deviation, with train.seed 43", (),
     {"model.minibatch_stddev": True, "train.seed": 43}),
    # Beside row 1 with --minutes 60: the headroom of both (docs/recipe.md, set X).
    ("the book's params (none of the recipe's changes)", (EVERY_RECIPE_KEY,), {}),
    # The two candidates for the recipe line together (docs/recipe.md, sets Y and AB).
    ("+ fused generator pass and the discriminator at 8e-4", (), PAIR),
    ("+ fused generator pass and the discriminator at 8e-4, with train.seed 43", (),
     {**PAIR, "train.seed": 43}),
    # A cheaper generator for slow hosts (issue 46's item 4): only its first map narrower.
    ("+ fused pass, D 8e-4, the generator's first map 128 channels instead of 256", (),
     {**PAIR, "model.dcgan_start_channels": 128}),
    ("+ fused pass, D 8e-4, first map 128 channels, with train.seed 43", (),
     {**PAIR, "model.dcgan_start_channels": 128, "train.seed": 43}),
    ("+ fused pass, D 8e-4, the generator's first map 64 channels instead of 256", (),
     {**PAIR, "model.dcgan_start_channels": 64}),
    ("+ fused pass, D 8e-4, first map 64 channels, with train.seed 43", (),
     {**PAIR, "model.dcgan_start_channels": 64, "train.seed": 43}),
    # A third seed for the pair and its 64-channel first map, split by the first two.
    ("+ fused generator pass and the discriminator at 8e-4, with train.seed 44", (),
     {**PAIR, "train.seed": 44}),
    ("+ fused pass, D 8e-4, first map 64 channels, with train.seed 44", (),
     {**PAIR, "model.dcgan_start_channels": 64, "train.seed": 44}),
]
# Levers main does not carry, since their ablation (docs/recipe.md): their rows run from the
# last commit that has them.
LAST_COMMIT_WITH = dict.fromkeys(("train.ema", "train.lr_cooldown", "train.top_k",
                                  "train.spectral_norm", "model.arch=dcgan_lite"), "c75d0a2")
# Levers built and measured on a branch that never landed: no commit here has their code.
NEVER_LANDED = {"model.minibatch_stddev": "4d5a1f2"}
MINUTES_CAP = 1_000_000  # train.iterations of a row budgeted in minutes


def missing_lever(changes: dict) -> str | None:
    """Why this code cannot run a row's changes (a lever it does not carry), if it cannot."""
    keys = {*changes, *(f"{k}={v}" for k, v in changes.items())}
    if deleted := sorted(keys & LAST_COMMIT_WITH.keys()):
        return (f"needs {deleted[0]}, deleted after its ablation (docs/recipe.md): run it from "
                f"commit {LAST_COMMIT_WITH[deleted[0]]}")
    if unlanded := sorted(keys & NEVER_LANDED.keys()):
        return (f"needs {unlanded[0]}, built and measured on commit {NEVER_LANDED[unlanded[0]]} "
                "of a branch that never landed (docs/recipe.md): its code is not in this "
                "repository")
    return None


def platform() -> str:
    """The CPU, its cores and whether it computes bf16 (what `precision: auto` picks by)."""
    cpu = cpu_info(Path("/proc/cpuinfo").read_text())
    bf16 = "avx512_bf16" in cpu["isa_flags"]
    return (f"{cpu.get('model_name', 'unknown CPU')}, {os.cpu_count()} cores, "
            f"{'with' if bf16 else 'no'} AVX512-BF16")


def run_row(name: str, changes: dict, minutes: float, work: Path, args) -> dict:
    """Train and evaluate params.yaml with ``changes`` as a comparison run of ``minutes``;
    its metrics."""
    compare = yaml.safe_load(args.compare.read_text())
    compare.update(runs={name: changes}, minutes=minutes)
    row_dir = work / name
    row_dir.mkdir(parents=True)
    (row_dir / "compare.yaml").write_text(yaml.safe_dump(compare))
    subprocess.run([sys.executable, str(REPO / "stages/compare_run.py"),
                    "--params", str(args.params), "--compare", str(row_dir / "compare.yaml"),
                    "--run", name, "--data", str(args.data), "--classifier",
                    str(args.classifier), "--out-dir", str(row_dir)], check=True)
    return json.loads((row_dir / "metrics.json").read_text())


def line(what: str, metrics: dict, reference_fid: float) -> str:
    q, t = metrics["quality"], metrics["train"]
    delta = f"{q['fid'] - reference_fid:+.2f}"
    return (f"| {what} | {t['iterations']} | {q['fid']:.2f} | {delta} | "
            f"{q['classifier_score']:.2f} | {q['coverage']:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compare-dir", default=str(REPO / "reports/compare"),
                   help="the comparison's outputs, for the book and recipe rows")
    p.add_argument("--params", type=Path, default=REPO / "params.yaml")
    p.add_argument("--compare", type=Path, default=REPO / "compare/params.yaml",
                   help="the comparison's params: the recipe, the minutes")
    p.add_argument("--data", type=Path, default=REPO / "data/prepared/dataset.npz")
    p.add_argument("--classifier", type=Path, default=REPO / "models/classifier.keras")
    p.add_argument("--out", required=True, help="the Markdown table to write")
    p.add_argument("--rows", type=int, nargs="+", choices=range(1, len(ROWS) + 1),
                   default=range(1, len(ROWS) + 1), metavar="N",
                   help="which rows of ROWS to run, numbered from 1 (default: all)")
    p.add_argument("--keep", metavar="DIR",
                   help="keep each row's comparison params, generator, quality.csv and "
                        "metrics.json in DIR/row<N> (default: a temporary directory, removed "
                        "after)")
    p.add_argument("--minutes", type=float,
                   help="each row's training budget (default: the minutes of "
                        "compare/params.yaml); the comparison's two rows keep theirs")
    p.add_argument("--iterations", type=int,
                   help="instead of a budget in minutes, each row trains exactly this many "
                        "iterations (a multiple of the comparison's eval_interval): rows "
                        "compare at equal iterations, and a cooldown knows its end")
    args = p.parse_args()
    for number in args.rows:
        missing = missing_lever(ROWS[number - 1][2])
        if missing:
            p.error(f"row {number} {missing}")
    params = yaml.safe_load(args.compare.read_text())
    minutes = params["minutes"] if args.minutes is None else args.minutes
    recipe = params["runs"]["recipe"]
    # A budget in minutes ends a row by the clock: the book's cap of 20,000 iterations
    # would end a long one early (it stopped set T's 60-minute run after 22.6 minutes).
    length = ({"train.iterations": MINUTES_CAP} if args.iterations is None
              else {"train.max_minutes": None, "train.iterations": args.iterations})
    results = [(what, json.loads((Path(args.compare_dir) / run / "metrics.json").read_text()))
               for what, run in (("the book's params (compare: dcgan)", "dcgan"),
                                 ("the recipe (compare: recipe)", "recipe"))]
    budget = (f"{minutes:g} minutes" if args.iterations is None
              else f"{args.iterations} iterations")
    header = [f"Platform: {platform()}. Each row trains for {budget}, then "
              "`evaluate` measures 10,000 samples. The recipe: "
              + ", ".join(f"`{k}={v}`" for k, v in recipe.items()) + ". The first two rows "
              "are the comparison's (--compare-dir), which may come from another host.", "",
              "| run | iterations | fid | fid − recipe's | classifier_score | coverage |",
              "| --- | --- | --- | --- | --- | --- |"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The reference is the recipe run on this host when this invocation runs it (row 1 runs
    # first, right after the comparison's two rows); else the comparison's recipe.
    reference = 2 if 1 in args.rows else 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        for number in sorted(args.rows):
            what, removed, added = ROWS[number - 1]
            kept = {} if EVERY_RECIPE_KEY in removed else {
                k: v for k, v in recipe.items() if k not in removed}
            changes = {**kept, **added, **length}
            print(f"ablation: row {number}/{len(ROWS)}: {what}: {changes}", flush=True)
            results.append((what, run_row(f"row{number}", changes, minutes, work, args)))
            reference_fid = results[reference][1]["quality"]["fid"]
            table = "\n".join([*header, *(line(w, m, reference_fid) for w, m in results)])
            out.write_text(table + "\n")  # each finished row survives a stop
            print(table, flush=True)


if __name__ == "__main__":
    main()

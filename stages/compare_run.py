"""Stage compare@<run> (compare/dvc.yaml): run <run> of compare/params.yaml's runs trains
for its minutes, measured every eval_interval iterations, and is then evaluated."""

from pathlib import Path

from gan_pipeline import cli
from gan_pipeline.compare import run_metrics
from gan_pipeline.config.compare import load_compare
from gan_pipeline.config.params import Params, run_params
from gan_pipeline.data.prepare import check_scaled, prepared_layout
from gan_pipeline.errors import InputError
from gan_pipeline.evaluation.evaluate import evaluate
from gan_pipeline.evaluation.probe import QualityProbe
from gan_pipeline.formats import quality_rows
from gan_pipeline.formats.files import load_npz, write_json, write_text
from gan_pipeline.formats.model_files import load_model, save_model
from gan_pipeline.training.loop import train


def main(args, params):
    compare = load_compare(args.compare)
    if args.run not in compare.runs:
        raise InputError(f"--run {args.run}: not a run of {args.compare} "
                         f"({', '.join(compare.runs)})")
    run = run_params(params, compare, args.run)
    layout = prepared_layout(run.data.dataset)
    data = load_npz(args.data, {name: layout[name] for name in ("x_train", "x_test")})
    check_scaled(data["x_train"], f"{args.data}: x_train")
    classifier = load_model(args.classifier)

    def make_probe():
        return QualityProbe(classifier, data["x_test"], run.train.eval_samples,
                            run.model.z_dim, run.train.seed)

    budget = (f"{run.train.max_minutes:g} minutes" if run.train.max_minutes is not None
              else f"{run.train.iterations} iterations")
    print(f"compare: run {args.run}: {dict(compare.runs[args.run]) or 'params.yaml'}, "
          f"{budget}", flush=True)
    result = train(run.model, run.train, run.runtime.train, data["x_train"],
                   make_probe=make_probe)
    rows = result.record.quality
    metrics = run_metrics(evaluate(result.generator, classifier, data["x_test"],
                                   data["x_train"], run.evaluate), rows)
    out = Path(args.out_dir)
    save_model(result.generator, out / "generator.keras")
    write_text(out / "quality.csv", quality_rows.to_csv(rows))
    write_json(out / "metrics.json", metrics)
    q = metrics["quality"]
    print(f"compare: run {args.run}: {metrics['train']['iterations']} iterations in "
          f"{metrics['train']['minutes']:.1f} min: fid {q['fid']:.2f}, classifier_score "
          f"{q['classifier_score']:.2f}, coverage {q['coverage']:.3f}")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--compare", default="compare/params.yaml",
                   help="the comparison's params (default: %(default)s)")
    p.add_argument("--run", required=True, help="a key of the comparison's runs")
    p.add_argument("--data", required=True, help="the prepared .npz")
    p.add_argument("--classifier", required=True, help="the evaluation classifier (.keras)")
    p.add_argument("--out-dir", required=True,
                   help="where to write generator.keras, quality.csv and metrics.json")
    cli.run(main, p.parse_args(), Params)

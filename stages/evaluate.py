"""Stage evaluate: FID, classifier score, class coverage, precision/recall of the generator.

(The classifier score is the Inception Score with the classifier of data.dataset.)"""

from gan_pipeline import cli
from gan_pipeline.config.evaluate import EvaluateParams
from gan_pipeline.data.datasets import load_raw
from gan_pipeline.data.prepare import scale
from gan_pipeline.evaluation.evaluate import evaluate
from gan_pipeline.formats.files import write_json
from gan_pipeline.formats.model_files import load_model


def main(args, params):
    generator, classifier = load_model(args.generator), load_model(args.classifier)
    raw = load_raw(args.raw, params.data.dataset)
    results = evaluate(generator, classifier, scale(raw["x_test"]), scale(raw["x_train"]),
                       params.evaluate)
    write_json(args.metrics, results)
    quality, real = results["quality"], results["real"]
    print("evaluate: " + ", ".join(f"{k} {quality[k]:.4g} (real {real[k]:.4g})" for k in
                                   ("fid", "classifier_score", "class_kl", "coverage")))


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--generator", required=True, help="the trained generator (.keras)")
    p.add_argument("--classifier", required=True, help="the trained classifier (.keras)")
    p.add_argument("--raw", required=True, help="the downloaded .npz (test images)")
    p.add_argument("--metrics", required=True, help="the metrics JSON to write")
    cli.run(main, p.parse_args(), EvaluateParams)

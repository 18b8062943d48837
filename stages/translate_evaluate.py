"""Stage translate:evaluate (translate/dvc.yaml): the CycleGAN measured against the true map
on the test halves (translation.evaluate), and its picture: x, G(x), F(G(x)) for A, and y,
F(y), G(F(y)) for B."""

import json
from pathlib import Path

from gan_pipeline import cli  # first: it quietens TensorFlow and pins NumPy's kernels

import numpy as np  # noqa: E402

from gan_pipeline.config.translate import load_translate
from gan_pipeline.figures.grids import to_png
from gan_pipeline.figures.plots import comparison_grid
from gan_pipeline.formats.files import load_npz, write_bytes, write_json
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.translation.domains import LAYOUT
from gan_pipeline.translation.evaluate import measure, translate

COLUMNS = 10  # images per row of the picture: the first test image of each digit


def main(args, _params):
    cfg = load_translate(args.translate)
    tests = ("a_test", "a_test_labels", "b_test", "b_test_labels")
    domains = load_npz(args.domains, {k: LAYOUT[k] for k in tests})
    g, f = load_model(Path(args.models) / "g_a_to_b.keras"), load_model(
        Path(args.models) / "f_b_to_a.keras")
    metrics = measure(g, f, load_model(args.classifier), domains, cfg.domains)
    trained = json.loads(Path(args.train_json).read_text())
    write_json(args.metrics, {"translation": {k: round(v, 6) for k, v in metrics.items()},
                              "train": {k: trained[k] for k in ("iterations", "minutes")}})
    rows = []
    digits = [d for d in range(COLUMNS) if all((domains[f"{domain}_test_labels"] == d).any()
                                               for domain in ("a", "b"))]
    for domain, there, back in (("a", g, f), ("b", f, g)):
        labels = domains[f"{domain}_test_labels"]
        x = domains[f"{domain}_test"][[int(np.argmax(labels == d)) for d in digits]]
        moved = translate(there, x)
        name, other = ("G", "F") if domain == "a" else ("F", "G")
        rows += [(f"{domain.upper()}: x", x), (f"{name}(x)", moved),
                 (f"{other}({name}(x))", translate(back, moved))]
    write_bytes(args.png, to_png(comparison_grid(rows)))
    print("translate: evaluate: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0], params=False)
    p.add_argument("--translate", required=True, help="translate/params.yaml")
    p.add_argument("--domains", required=True, help="the domains stage's .npz")
    p.add_argument("--models", required=True, help="the folder of both generators")
    p.add_argument("--classifier", required=True, help="the evaluation classifier (.keras)")
    p.add_argument("--train-json", required=True, help="the train stage's JSON")
    p.add_argument("--metrics", required=True, help="where to write the metrics (JSON)")
    p.add_argument("--png", required=True, help="where to write the picture")
    cli.run(main, p.parse_args())

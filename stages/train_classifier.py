"""Stage train_classifier: the CNN whose features the evaluate stage measures in."""

from gan_pipeline import cli
from gan_pipeline.config.classifier import ClassifierParams
from gan_pipeline.data.datasets import load_raw
from gan_pipeline.data.prepare import image_count, scale
from gan_pipeline.evaluation.classifier import accuracy, train_classifier
from gan_pipeline.formats.files import write_json
from gan_pipeline.formats.model_files import save_model


def main(args, params):
    cfg = params.classifier
    raw = load_raw(args.raw, params.data.dataset)
    n = image_count(cfg.train_images, len(raw["x_train"]), "classifier.train_images")
    model = train_classifier(cfg, scale(raw["x_train"][:n]), raw["y_train"][:n])
    test_accuracy = accuracy(model, scale(raw["x_test"]), raw["y_test"])
    save_model(model, args.model)
    write_json(args.metrics, {"test_accuracy": test_accuracy,
                              "test_images": len(raw["x_test"])})
    print(f"train_classifier: test accuracy {100 * test_accuracy:.2f}% -> {args.model}")


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--raw", required=True, help="the downloaded .npz")
    p.add_argument("--model", required=True, help="where to save the classifier (.keras)")
    p.add_argument("--metrics", required=True, help="JSON with the test accuracy")
    cli.run(main, p.parse_args(), ClassifierParams)

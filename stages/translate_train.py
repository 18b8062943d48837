"""Stage translate:train (translate/dvc.yaml): the CycleGAN between the two domains, for
train.max_minutes (or train.iterations); writes both generators and the loss history."""

from pathlib import Path

from gan_pipeline import cli
from gan_pipeline.config.schema import StageParams
from gan_pipeline.config.train import TrainRuntime
from gan_pipeline.config.translate import load_translate
from gan_pipeline.formats import loss_rows
from gan_pipeline.formats.files import load_npz, write_json, write_text
from gan_pipeline.formats.model_files import save_model
from gan_pipeline.platform_record import platform_class
from gan_pipeline.training.runtime import configure_runtime, resolve_precision
from gan_pipeline.translation.domains import LAYOUT
from gan_pipeline.translation.train import train


class TranslateRuntimeParams(StageParams):
    """What this stage reads of params.yaml: how training runs (precision, determinism,
    threads, XLA), as for the DCGAN."""

    runtime: TrainRuntime


def main(args, params):
    cfg = load_translate(args.translate)
    runtime = params.runtime.train.model_copy(update={"strategy": "default"})
    configure_runtime(runtime)
    domains = load_npz(args.domains, {k: LAYOUT[k] for k in ("a_train", "b_train")})
    trained = train(cfg.nets, cfg.train, domains["a_train"], domains["b_train"],
                    runtime.jit_compile)
    out = Path(args.models)
    save_model(trained.model.g, out / "g_a_to_b.keras")
    save_model(trained.model.f, out / "f_b_to_a.keras")
    write_text(args.history, loss_rows.to_csv(trained.history))
    write_json(args.train_json, {
        "iterations": trained.iterations, "minutes": round(trained.seconds / 60, 2),
        "platform_class": platform_class(resolve_precision(runtime.precision),
                                         runtime.intra_op_threads, runtime.inter_op_threads)})
    print(f"translate: train: {trained.iterations} iterations in "
          f"{trained.seconds / 60:.1f} min")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--translate", required=True, help="translate/params.yaml")
    p.add_argument("--domains", required=True, help="the domains stage's .npz")
    p.add_argument("--models", required=True, help="the folder for both generators")
    p.add_argument("--history", required=True, help="the loss history (CSV)")
    p.add_argument("--train-json", required=True,
                   help="the training's iterations, minutes and platform class (JSON)")
    cli.run(main, p.parse_args(), TranslateRuntimeParams)

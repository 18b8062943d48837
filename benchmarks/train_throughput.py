"""Iterations/s at batch 128 on real MNIST: the book's ``train_on_batch`` loop against this
project's compiled train step, measured side by side and alternating in one run.

    python benchmarks/train_throughput.py --data data/prepared/dataset.npz

Variants (``--variants``, comma-separated; the first is the baseline of the ratios):
  seed_loop     the book's loop (§4.4.4): ``generator.predict``, ``discriminator.train_on_batch``
                on reals and on fakes, then ``gan.train_on_batch`` through the frozen
                discriminator; NumPy draws the batch and the noise.
  fp32          this project's step (src/gan_pipeline/training/gan.py) in float32,
                deterministic ops;
  bf16          ... with ``runtime.train.precision: mixed_bfloat16``;
  fp32+xla, bf16+xla   ... compiled with XLA (``runtime.train.jit_compile: true``);
  fp32-nondet, bf16-nondet   ... without op determinism (``runtime.train.deterministic: false``);
  fp32+fused, bf16+fused   ... with ``train.fused_generator_pass: true`` (one generator
                forward per iteration instead of two; see src/gan_pipeline/training/gan.py);
  bf16+r1       ... with the recipe's lazy R1 (``train.r1_gamma`` 0.02, the penalty every
                ``train.r1_interval`` iterations): what it costs per iteration;
  fp32+start128, fp32+start64   ... with the generator's first map at 128 or 64 channels
                (``model.dcgan_start_channels``; the book's 256).
Levers combine: ``fp32+fused+r1+start128``.
Thread counts (``runtime.train.intra_op_threads``/``inter_op_threads``) apply to every variant of a
run, since TensorFlow fixes them at start-up: compare them across runs with --threads.

Each round runs every variant for ``--iterations`` iterations, in turn, after a warm-up that
traces and compiles it; the report gives the median over rounds. Timings on a shared machine
are noisy: compare the ratios, which come from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402  (no public "disable")

from gan_pipeline.config.params import load_params  # noqa: E402
from gan_pipeline.data.prepare import prepared_layout  # noqa: E402
from gan_pipeline.formats.files import load_npz  # noqa: E402
from gan_pipeline.training.loop import adam, build_gan  # noqa: E402
from gan_pipeline.training.models import build_discriminator, build_generator  # noqa: E402
from gan_pipeline.training.runtime import configure_runtime  # noqa: E402


def flops_per_iteration(batch_size: int, fused_generator_pass: bool = False,
                        start_channels: int = 256) -> float:
    """Analytic FLOPs of one book iteration (2 per multiply-add; backward = 2× forward).

    Generator forward per image, its first map of C = ``start_channels`` (the book's 256):
    Dense 100->7²·C, ConvT 7²·9·C·128, 14²·9·128·64, 14²·9·64·1. Discriminator: 14²·9·1·32,
    7²·9·32·64, 4²·9·64·128, 2048.
    Iteration: G forward for the fakes, D forward+backward on 2 batches, and the generator
    step's G forward+backward plus D forward+backward (to the inputs). The fused pass
    drops the separate G forward for the fakes.
    """
    c = start_channels
    g = 2 * (100 * 7 * 7 * c + 7 * 7 * 9 * c * 128 + 14 * 14 * 9 * 128 * 64 + 14 * 14 * 9 * 64)
    d = 2 * (14 * 14 * 9 * 32 + 7 * 7 * 9 * 32 * 64 + 4 * 4 * 9 * 64 * 128 + 2048)
    return batch_size * ((0 if fused_generator_pass else g) + 2 * 3 * d + 3 * g + 3 * d)


class SeedLoop:
    """The book's loop, as faithful as Keras 3 allows."""

    def __init__(self, params, images: np.ndarray):
        keras.utils.set_random_seed(params.train.seed)
        self.images, self.batch = images, params.train.batch_size
        self.z_dim = params.model.z_dim
        self.generator = build_generator(params.model, images.shape[1:])
        self.discriminator = build_discriminator(params.model, images.shape[1:])
        lr = params.train.adam.learning_rate  # the book's one Adam() setting for both
        self.discriminator.compile(loss="binary_crossentropy",
                                   optimizer=adam(params.train, lr), metrics=["accuracy"])
        self.real = np.ones((self.batch, 1), np.float32)
        self.fake = np.zeros((self.batch, 1), np.float32)
        # Keras 3 reads `trainable` when it traces a train function: trace the discriminator's
        # while it is trainable, then freeze it for the combined model, as the book intends.
        self.discriminator.train_on_batch(images[: self.batch], self.real)
        self.discriminator.trainable = False
        self.gan = keras.Sequential([self.generator, self.discriminator])
        self.gan.compile(loss="binary_crossentropy", optimizer=adam(params.train, lr))

    def run(self, iterations: int) -> None:
        for _ in range(iterations):
            idx = np.random.randint(0, self.images.shape[0], self.batch)
            imgs = self.images[idx]
            z = np.random.normal(0, 1, (self.batch, self.z_dim))
            gen_imgs = self.generator.predict(z, verbose=0)
            d_loss_real = self.discriminator.train_on_batch(imgs, self.real)
            d_loss_fake = self.discriminator.train_on_batch(gen_imgs, self.fake)
            0.5 * np.add(d_loss_real, d_loss_fake)
            z = np.random.normal(0, 1, (self.batch, self.z_dim))
            self.gan.train_on_batch(z, self.real)


# The (section, params) each lever variant changes.
LEVERS = {"fused": ("train", {"fused_generator_pass": True}),
          "r1": ("train", {"r1_gamma": 0.02}),
          "start128": ("model", {"dcgan_start_channels": 128}),
          "start64": ("model", {"dcgan_start_channels": 64})}


def with_levers(params, options: list[str]):
    """``params`` with the levers among ``options`` (the others are xla and -nondet)."""
    for section, update in (LEVERS[o] for o in options if o in LEVERS):
        params = params.model_copy(update={section: getattr(params, section).model_copy(
            update=update)})
    return params


class ProjectStep:
    def __init__(self, params, images: np.ndarray, precision: str, options: list[str]):
        self.deterministic = "-nondet" not in options
        self._set_determinism()
        params = with_levers(params, options)
        keras.mixed_precision.set_global_policy(precision)  # layers take it when built
        self.gan = build_gan(params.model, params.train, images.shape[1:])
        # Each iteration as the training loop runs it, lazy R1 included.
        self.run_iteration = self.gan.compiled_training(params.train.batch_size,
                                                        "xla" in options)
        self.iteration = 0
        self.data = tf.convert_to_tensor(images)

    def _set_determinism(self) -> None:
        if self.deterministic:
            tf.config.experimental.enable_op_determinism()
        else:
            tf_config.disable_op_determinism()

    def run(self, iterations: int) -> None:
        self._set_determinism()
        for _ in range(iterations):
            self.iteration += 1
            logs = self.run_iteration(self.iteration, self.data)
        float(logs["g_loss"])  # wait for the last step to finish


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--data", default="data/prepared/dataset.npz")
    p.add_argument("--iterations", type=int, default=60, help="per variant per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--variants", default="seed_loop,fp32,bf16,fp32+xla,bf16+xla,fp32-nondet,"
                                          "bf16-nondet,fp32+fused,bf16+fused,bf16+r1")
    p.add_argument("--threads", default="0,0", help="intra_op,inter_op (0: TF default)")
    p.add_argument("--batch-size", type=int, help="instead of train.batch_size (the "
                                                  "recipe's is 64)")
    args = p.parse_args()

    params = load_params(args.params)
    if args.batch_size:
        params = params.model_copy(update={"train": params.train.model_copy(
            update={"batch_size": args.batch_size})})
    if (params.data.dataset, params.model.arch) != ("mnist", "dcgan"):
        # The seed loop and the analytic FLOP count are the book's model on MNIST.
        p.error(f"measures the book's dcgan on mnist; params has {params.model.arch} on "
                f"{params.data.dataset}")
    intra, inter = (int(n) for n in args.threads.split(","))
    configure_runtime(params.runtime.train.model_copy(update={
        "intra_op_threads": intra, "inter_op_threads": inter, "precision": "float32"}))
    images = load_npz(args.data, {"x_train": prepared_layout("mnist")["x_train"]})["x_train"]
    train = params.train
    precisions = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}

    def make(name: str):
        if name == "seed_loop":
            keras.mixed_precision.set_global_policy("float32")
            return SeedLoop(params, images)
        precision, *options = name.replace("-", "+-").split("+")
        unknown = set(options) - {*LEVERS, "xla", "-nondet"}
        if precision not in precisions or unknown:
            p.error(f"unknown variant {name}")
        return ProjectStep(params, images, precisions[precision], options)

    names = args.variants.split(",")
    variants = {}
    for name in names:
        variants[name] = make(name)
        variants[name].run(args.warmup)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else reversed(names):
            start = time.perf_counter()
            variants[name].run(args.iterations)
            rates[name].append(args.iterations / (time.perf_counter() - start))

    flops = flops_per_iteration(train.batch_size)  # the book's iteration
    base = statistics.median(rates[names[0]])
    print(f"\nbatch {train.batch_size}, {len(images)} images, {args.rounds} rounds × "
          f"{args.iterations} iterations, {flops / 1e9:.1f} GFLOP per iteration, "
          f"TF {tf.__version__}, {os.cpu_count()} CPUs visible, threads intra/inter "
          f"{intra}/{inter}")
    width = max(14, *(len(name) + 2 for name in names))
    print(f"{'variant':<{width}}{'it/s (median)':>14}{'rounds':>{6 * args.rounds + 6}}"
          f"{'× ' + names[0]:>{width}}{'GFLOP/s':>10}")
    for name in names:
        med = statistics.median(rates[name])
        rounds = " ".join(f"{x:.2f}" for x in rates[name])
        step = with_levers(params, name.split("+"))
        gflops = med * flops_per_iteration(train.batch_size, step.train.fused_generator_pass,
                                           step.model.dcgan_start_channels) / 1e9
        print(f"{name:<{width}}{med:>14.2f}{rounds:>{6 * args.rounds + 6}}"
              f"{med / base:>{width}.2f}{gflops:>10.1f}")


if __name__ == "__main__":
    main()

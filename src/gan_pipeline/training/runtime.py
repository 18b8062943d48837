"""Where and how training runs: thread pools, precision, op determinism, the distribution
strategy, and which process of a multi-worker run writes the outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from gan_pipeline.config.train import TrainRuntimeConfig
from gan_pipeline.errors import InputError


def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); without it oneDNN
    emulates bf16 and mixed precision is slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """``auto`` -> mixed_float16 on a GPU (its tensor cores' precision), mixed_bfloat16 on a
    CPU with native bf16, else float32 (docs/performance.md: Speed options)."""
    if precision != "auto":
        return precision
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_native_bf16() else "float32"


def configure_runtime(cfg: TrainRuntimeConfig) -> tf.distribute.Strategy:
    """Threads, precision, determinism and the distribution strategy.

    Thread counts and logical devices can only be set before TensorFlow initialises its
    devices, so this runs before any other TensorFlow work of the process.
    """
    if cfg.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(cfg.intra_op_threads)
    if cfg.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(cfg.inter_op_threads)
    keras.mixed_precision.set_global_policy(resolve_precision(cfg.precision))
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    if cfg.strategy == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cfg.cpu_replicas)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cfg.cpu_replicas)])
    if cfg.strategy == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise InputError("runtime.train.strategy is multi_worker but TF_CONFIG is not set "
                             "(docs/training.md: Scale out with tf.distribute)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(cfg: TrainRuntimeConfig) -> bool:
    """Whether this process writes outputs: always, except on the non-chief workers of a
    multi-worker run (the chief is task "chief", or worker 0 of a cluster without one)."""
    if cfg.strategy != "multi_worker" or "TF_CONFIG" not in os.environ:
        return True
    tf_config = json.loads(os.environ["TF_CONFIG"])
    task = tf_config.get("task", {})
    if "chief" in tf_config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0

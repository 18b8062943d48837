"""The runtime group of the download stage, and what the download stage reads."""

from __future__ import annotations

from gan_pipeline.config.datasets import DataConfig
from gan_pipeline.config.schema import Positive, RuntimeView, Section, StageParams


class DownloadConfig(Section):
    """runtime.download."""

    # An offline machine fails a URL within connect_timeout_s and moves on to the next mirror.
    connect_timeout_s: Positive
    read_timeout_s: Positive


class DownloadRuntime(RuntimeView):
    download: DownloadConfig


class DownloadParams(StageParams):
    data: DataConfig
    runtime: DownloadRuntime

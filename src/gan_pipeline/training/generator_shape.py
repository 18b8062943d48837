"""The arithmetic of the convolutional generators' shape, shared by the params check and the
models: a ``generator_start``² first feature map, doubled by stride-2 layers to the image."""

from __future__ import annotations

REFERENCE_DOUBLINGS = 2  # 7×7 -> 28×28 in every convolutional generator of the references


def generator_doublings(generator_start: int | str, side: int) -> int | None:
    """How many stride-2 layers take a ``generator_start``² map to ``side``² images (auto:
    the references' two), or None where no whole number >= those two does."""
    if generator_start == "auto":
        return REFERENCE_DOUBLINGS if side % 4 == 0 else None
    if generator_start > side:
        return None
    doublings = (side // generator_start).bit_length() - 1
    ok = generator_start << doublings == side and doublings >= REFERENCE_DOUBLINGS
    return doublings if ok else None

"""The promote section: when the champion alias moves (stages/promote.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gan_pipeline.config.schema import Number, Section


class PromoteConfig(Section):
    # The champion alias moves only to a version whose FID is lower by more than this.
    fid_margin: Annotated[Number, Field(ge=0)]

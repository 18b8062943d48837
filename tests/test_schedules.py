"""The learning-rate cooldown (gan_pipeline.training.schedules, train.lr_cooldown): constant,
then linear to 0 over the last part of train.iterations, both nets together."""

import numpy as np
import pytest

from gan_pipeline.training.schedules import LinearCooldown


@pytest.mark.parametrize("updates", [1, 2])
def test_the_rate_holds_then_falls_linearly_to_zero_at_the_last_iteration(updates):
    schedule = LinearCooldown(1e-3, iterations=100, cooldown=0.25,
                              updates_per_iteration=updates)
    rates = {it: float(schedule(it * updates + updates - 1)) for it in (0, 74, 75, 80, 99)}
    assert rates[0] == rates[74] == rates[75] == pytest.approx(1e-3)
    assert rates[80] == pytest.approx(1e-3 * 20 / 25)
    assert rates[99] == pytest.approx(1e-3 / 25)
    assert float(schedule(10_000)) == 0.0  # past the end: stays at 0
    assert np.isclose(LinearCooldown.from_config(schedule.get_config())(80 * updates),
                      1e-3 * 20 / 25)

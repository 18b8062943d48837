"""The training history: its CSV file and the book's log line."""

import pytest

from gan_pipeline.formats import history
from gan_pipeline.formats.files import write_text
from gan_pipeline.formats.history import HistoryRow


def test_history_round_trips_and_prints_the_books_line(tmp_path):
    points = [HistoryRow(1000, 0.2352, 0.92578125, 4.601653),
              HistoryRow(2000, 0.034661, 1.0, 3.741243)]
    assert points[0].log_line() == "1000 [D loss: 0.235200, acc.: 92.58%] [G loss: 4.601653]"
    write_text(tmp_path / "h.csv", history.to_csv(points))
    assert (tmp_path / "h.csv").read_text().splitlines()[0] == "iteration,d_loss,d_acc,g_loss"
    back = history.read_csv(tmp_path / "h.csv")
    assert [p.iteration for p in back] == [1000, 2000]
    assert back[0].d_acc == pytest.approx(0.925781, abs=1e-6)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns must be"):
        history.read_csv(tmp_path / "bad.csv")

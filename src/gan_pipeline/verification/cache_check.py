"""DVC's local cache against the md5 the locks name, before DVC checks anything out of it.

DVC names each cache file by its md5 but trusts a cache file in its read-only mode (0444)
without hashing it, even with ``cache.verify = true`` (which hashes only a cache file whose
mode changed): a byte flipped on disk was checked out as it was. So `make pull` and
`make pipeline` first re-hash every cache file the committed locks name (directory manifests
and the files they list included), remove each one whose bytes no longer match, and name
its output; the `dvc pull` that follows fetches it again from the remote, where
``verify = true`` re-hashes what arrives.

    python -m gan_pipeline.verification.cache_check [REPO]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import yaml

from gan_pipeline.verification.lock import PIPELINES


def file_md5(path: Path) -> str:
    """The md5 DVC names a file by (its cache, dvc.lock)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def corrupted_cache_files(repo: Path) -> list[tuple[str, Path]]:
    """(output, cache file) for each cache file a lock names whose bytes do not match."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        odb = dvc.cache.local
        found: list[tuple[str, Path]] = []

        def check(name: str, md5: str) -> None:
            path = Path(odb.oid_to_path(md5))
            if not path.is_file():
                return  # not in the cache: dvc pull fetches it
            if file_md5(path) != md5.removesuffix(".dir"):
                found.append((name, path))
            elif md5.endswith(".dir"):
                for entry in json.loads(path.read_text()):
                    check(f"{name}/{entry['relpath']}", entry["md5"])

        for pipeline in PIPELINES:
            lock_file = (repo / pipeline).with_suffix(".lock")
            if lock_file.is_file():
                for stage in yaml.safe_load(lock_file.read_text())["stages"].values():
                    for out in stage.get("outs", []):
                        check(out["path"], out["md5"])
    return found


def main() -> None:
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = corrupted_cache_files(repo)
    for name, path in bad:
        path.unlink()
        print(f"cache-check: {name}: the cache file {path.relative_to(repo.resolve())} does "
              f"not match its md5 (corrupted on disk): removed, for dvc pull to fetch again",
              file=sys.stderr)
    if not bad:
        print("cache-check: every cache file the locks name matches its md5")


if __name__ == "__main__":
    main()

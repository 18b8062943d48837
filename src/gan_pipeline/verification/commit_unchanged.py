"""`make commit-unchanged STAGES="train ..."`: `dvc commit` for stages whose code changed but
whose outputs provably did not (a rename, a move, logging; `make verify` is the proof).

It records the stages' new code deps and params in the lock. Unlike plain `dvc commit`, it
needs no data in the workspace: an output that is not here (not pulled, or never pushed to
a reachable remote), and a dep that another stage makes, keep the hashes the lock recorded.
"""

from __future__ import annotations

import os
import sys

from dvc.repo import Repo


def main(targets: list[str]) -> None:
    if not targets:
        sys.exit("usage: make commit-unchanged STAGES='train sample ...'")
    with Repo() as repo, repo.lock:
        outputs = [out.fs_path for stage in repo.index.stages for out in stage.outs]
        for target in targets:
            for info in repo.stage.collect_granular(target):
                stage = info.stage
                # A dep that is (or holds) another stage's output keeps its recorded hash:
                # that stage's own entry answers for it, and here it may be missing or, for
                # a directory, partly pulled.
                kept = [(dep, dep.hash_info, dep.meta) for dep in stage.deps
                        if any(out == dep.fs_path or out.startswith(dep.fs_path + os.sep)
                               for out in outputs)]
                # No run-cache entry: that needs every dep and output here to hash.
                stage.save(allow_missing=True, run_cache=False)
                for dep, hash_info, meta in kept:
                    dep.hash_info, dep.meta = hash_info, meta
                stage.commit(allow_missing=True)
                stage.dvcfile.dump_stages([stage], update_pipeline=False)
                print(f"commit-unchanged: {stage.addressing}: deps and params recorded")


if __name__ == "__main__":
    main(sys.argv[1:])

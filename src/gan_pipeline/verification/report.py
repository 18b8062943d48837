"""The Markdown report of `make verify` (``reports/verification.md``, also printed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def first_difference(ours: list, theirs: list, key) -> tuple[int | None, object]:
    """(the index of the first entry that differs, the key of the last that matched)."""
    matched = None
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            return i, matched
        matched = key(a)
    return (None, matched) if len(ours) == len(theirs) else (min(len(ours), len(theirs)),
                                                             matched)


def _iteration(row: str) -> int:
    """A history row's iteration, its first field (0 for a row that has none)."""
    first = row.split(",")[0]
    return int(first) if first.isdigit() else 0


@dataclass
class Check:
    what: str
    passed: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    times: list[tuple[str, float]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    bits_id: str = "?"  # this host's bits class, once known

    def platform(self, here: dict[str, Any], cpu: str, bits_id: str, threads: int,
                 on_committed: bool) -> None:
        committed = ("the committed run's class (its platform record is dvc.lock's)"
                     if on_committed else "not the committed run's class: dvc.lock and the "
                     "committed history are not compared, only this class's reference")
        self.bits_id = bits_id
        self.lines.append(f"- This host: `{here['id']}` ({cpu}, {here['onednn_isa']}, "
                          f"{here['precision']}, {here['cores']} visible cores); the replays "
                          f"run on {threads} intra-op threads, bits class `{bits_id}`: "
                          f"{committed}.")

    def references(self, classes: list[str]) -> None:
        self.lines.append("- Bits classes with a committed reference (verified on a host "
                          f"of that class): {', '.join(f'`{c}`' for c in classes) or 'none'}.")

    def ran(self, what: str) -> None:
        self.checks.append(Check(what, True, ""))

    def wall(self, what: str, seconds: float) -> None:
        self.times.append((what, seconds))

    def output(self, path: str, md5: str, locked: str | None, referenced: str | None) -> None:
        results = []
        for name, expected in (("dvc.lock", locked), ("reference", referenced)):
            if expected is not None:
                same = expected == md5
                results.append(f"{'identical to' if same else 'DIFFERENT from'} {name}")
                self.checks.append(Check(f"{path} against {name}", same,
                                         "" if same else f"{md5} here, {expected} there"))
        result = "; ".join(results) or "not compared"
        self.outputs.append(f"| `{path}` | `{md5[:12]}` | {result} |")

    def prefix(self, ours_name: str, theirs_name: str, ours, theirs) -> int | None:
        """Compare two prefixes of this host's bits class: history lines, then state digests
        (when both have them). The first iteration at which they differ, or None."""
        what = f"{ours_name} against {theirs_name}"
        i, matched = first_difference(ours.history[1:], theirs.history[1:],
                                      lambda line: line.split(",")[0])
        differs = []
        if ours.history[:1] != theirs.history[:1]:
            self.checks.append(Check(f"{what}: history", False, "the CSV headers differ"))
            differs.append(0)
        elif i is not None:
            rows = ours.history[1:] + [None]
            theirs_rows = theirs.history[1:] + [None]
            differs.append(min((_iteration(row) for row in (rows[i], theirs_rows[i]) if row),
                               default=0))
            self.checks.append(Check(
                f"{what}: history", False,
                f"matched up to iteration {matched or 0}; first difference: "
                f"`{rows[i]}` against `{theirs_rows[i]}` (bits class {self.bits_id})"))
        else:
            self.checks.append(Check(f"{what}: history", True,
                                     f"identical up to iteration {matched}"))
        if theirs.state_digests is None:
            self.checks.append(Check(f"{what}: state digests", True,
                                     "not compared: none committed yet (the next full "
                                     "relock records them)"))
            return min(differs, default=None)
        i, matched = first_difference(ours.state_digests, theirs.state_digests,
                                      lambda d: d.iteration)
        if i is None:
            self.checks.append(Check(f"{what}: state digests", True,
                                     f"identical up to iteration {matched}"))
        else:
            first = min(d[i].iteration for d in (ours.state_digests, theirs.state_digests)
                        if i < len(d))
            self.checks.append(Check(f"{what}: state digests", False,
                                     f"matched up to iteration {matched or 0}; first "
                                     f"differing iteration {first} (bits class "
                                     f"{self.bits_id})"))
            differs.append(first)
        return min(differs, default=None)

    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def markdown(self, failed: str | None) -> str:
        verdict = "FAILED" if failed or not self.passed() else "passed"
        out = [f"# Verification: {verdict}", "", *self.lines, ""]
        if failed:
            out += ["## Stopped", "", "```", failed, "```", ""]
        if self.outputs:
            out += ["## Rebuilt outputs", "", "| output | md5 | result |", "| --- | --- | --- |",
                    *self.outputs, ""]
        out += ["## Comparisons", "", "| comparison | result | detail |", "| --- | --- | --- |",
                *(f"| {c.what} | {'ok' if c.passed else '**FAILED**'} | {c.detail} |"
                  for c in self.checks), ""]
        out += ["## Wall times", "", "| step | seconds |", "| --- | ---: |",
                *(f"| {what} | {seconds:.0f} |" for what, seconds in self.times), ""]
        return "\n".join(out)

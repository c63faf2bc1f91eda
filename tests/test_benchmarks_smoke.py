"""The benchmark command at tiny sizes: it runs every part and prints every row of its table.

Timings are never asserted (speed targets are read in the table, not judged by tests). The exit status
is asserted: the command exits 1 when one of its invariants breaks, and those are counts, not timings
(one upstream exchange per stampede, one refresh and one exchange per expiry cycle with several
sidecar processes on one file, no ``invalid_grant`` among them, every sidecar exits cleanly).
"""

from __future__ import annotations

import pytest

from benchmarks.run import ROW_LABELS, main


@pytest.mark.slow
def test_quick_benchmark_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--quick"])
    out = capsys.readouterr().out
    assert status == 0, out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| measurement | result | floor, same run | ratio | target |")
    for label in ROW_LABELS:
        rows = [line for line in table if line.startswith(f"| {label}")]
        assert rows, f"no row {label!r} in:\n{out}"
        assert all("not run" not in row for row in rows), rows


def test_only_runs_the_parts_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    """``--only`` selects parts; the rows of the others still appear, marked as not run."""
    status = main(["--quick", "--only", "request"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "| `getCredentials`, fresh cached STS, one at a time | p50 " in out
    assert "| legitimate requests served during a connection flood | not run" in out


def test_an_unknown_part_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--only", "nonsense"])
    assert "unknown part(s) nonsense" in capsys.readouterr().err

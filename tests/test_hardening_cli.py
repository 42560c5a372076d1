"""Bad data, hostile text and failing writes, met through the CLI as a user would meet them.

Every bad bundle is made here from the committed demo bundle, copied to tmp and corrupted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tools.atomic import atomic_directory, write_text_atomic
from tools.sanitize import for_markdown, for_terminal
from tests.cli_helpers import DEMO, run_cli

def _copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEMO, bundle)
    return bundle


def _truth() -> tuple[str, str]:
    truth = yaml.safe_load((DEMO / "incident.yaml").read_text(encoding="utf-8"))["ground_truth"]
    return truth["resource"], truth["cause"]


def _top(out: str) -> tuple[str, str]:
    top = json.loads(out)["hypotheses"][0]
    return top["resource"], top["cause"]


# -- sanitised output ----------------------------------------------------------------------


def test_escape_sequences_and_bidi_controls_are_shown_escaped_not_executed() -> None:
    hostile = "ok\x1b[2J\x1b]0;pwned\x07 \u202eevil\x00 tab\there\nnext"
    shown = for_terminal(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert "\\x1b[2J" in shown and "\\x1b]0;pwned\\x07" in shown and "\\u202e" in shown and "\\x00" in shown
    assert "\t" in shown and "\n" in shown  # layout characters stay


def test_markdown_escaping_leaves_no_html_or_link_syntax() -> None:
    text = 'click [here](http://evil.example) <script>alert(1)</script> ![x](y) *bold* www.evil.example'
    out = for_markdown(text)
    assert "<script>" not in out and "](" not in out and "![" not in out and "http://" not in out
    assert "www.evil" not in out
    assert "&lt;script&gt;" in out and "\\[here\\]" in out


def test_hostile_alarm_name_and_log_lines_reach_the_terminal_and_report_inert(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    manifest = yaml.safe_load((bundle / "incident.yaml").read_text(encoding="utf-8"))
    manifest["trigger"]["alarm_name"] = "cart-5xx\x1b]0;owned\x07\x1b[2J"
    (bundle / "incident.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    logs = pd.read_parquet(bundle / "logs.parquet")
    logs["message"] = logs["message"] + ' <img src=x onerror=alert(1)> [link](http://evil.example) \u202eevil'
    logs.to_parquet(bundle / "logs.parquet", index=False)
    report = tmp_path / "report.md"

    code, out, err = run_cli("investigate", "--bundle", str(bundle), "--report", str(report))

    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out
    assert "cart-5xx\\x1b]0;owned\\x07\\x1b[2J" in out  # visible, so the engineer sees it was there
    text = report.read_text(encoding="utf-8")
    assert "\x1b" not in text and "<img" not in text and "](http" not in text


def test_json_output_keeps_untrusted_text_exact(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    manifest = yaml.safe_load((bundle / "incident.yaml").read_text(encoding="utf-8"))
    manifest["trigger"]["alarm_name"] = "cart <5xx>\x1b[2J"
    (bundle / "incident.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    code, out, err = run_cli("investigate", "--bundle", str(bundle), "--json")
    assert code == 0, err
    assert json.loads(out)["trigger"]["alarm_name"] == "cart <5xx>\x1b[2J"


# -- validation and cleaning ---------------------------------------------------------------


def test_validate_names_each_data_problem_with_file_and_row(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    metrics = pd.read_parquet(bundle / "metrics.parquet")
    metrics.loc[5, "value"] = np.inf
    metrics.loc[7, "dimensions"] = "{not json"
    metrics = pd.concat([metrics, metrics.iloc[:3]], ignore_index=True)
    metrics.to_parquet(bundle / "metrics.parquet", index=False)
    manifest = yaml.safe_load((bundle / "incident.yaml").read_text(encoding="utf-8"))
    window = manifest["window"]
    manifest["baseline"] = {"start": window["start"], "end": window["end"]}
    manifest["trigger"]["state_change_time"] = "2001-01-01T00:00:00Z"
    (bundle / "incident.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")

    code, _, err = run_cli("validate", str(bundle))

    assert code == 2
    lines = err.strip().splitlines()
    assert any("metrics.parquet: value, row 5" in l and "infinite" in l for l in lines)
    assert any("metrics.parquet: dimensions, row 7" in l and "not valid JSON" in l for l in lines)
    assert any("metrics.parquet: row " in l and "3 duplicate point(s)" in l for l in lines)
    assert any("incident.yaml: baseline" in l and "overlaps the window" in l for l in lines)
    assert any("incident.yaml: trigger.state_change_time" in l and "outside the window" in l for l in lines)


def test_infinite_and_duplicate_points_are_ignored_with_a_note_and_the_answer_holds(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    metrics = pd.read_parquet(bundle / "metrics.parquet")
    truth_resource, _ = _truth()
    rows = metrics.index[metrics["resource"] == truth_resource]
    metrics.loc[rows[len(rows) // 2], "value"] = np.inf
    metrics = pd.concat([metrics, metrics.iloc[:200]], ignore_index=True)
    metrics.to_parquet(bundle / "metrics.parquet", index=False)

    code, out, err = run_cli("investigate", "--bundle", str(bundle), "--json")

    assert code == 0, err
    assert _top(out) == _truth()
    notes = " ".join(json.loads(out)["notes"])
    assert "1 non-finite metric value" in notes and "200 duplicate metric point" in notes


def test_all_nan_series_and_malformed_dimensions_are_never_an_internal_error(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    metrics = pd.read_parquet(bundle / "metrics.parquet")
    first = metrics["metric"] == metrics["metric"].iloc[0]
    metrics.loc[first, "value"] = np.nan
    metrics.to_parquet(bundle / "metrics.parquet", index=False)
    code, _, err = run_cli("investigate", "--bundle", str(bundle), "--json")
    assert code == 0, err

    metrics.loc[0, "dimensions"] = "[1, 2"
    metrics.to_parquet(bundle / "metrics.parquet", index=False)
    code, _, err = run_cli("investigate", "--bundle", str(bundle))
    assert code == 2
    assert "dimensions, row 0" in err and "internal error" not in err and len(err.strip().splitlines()) == 1


def test_every_log_line_shipped_twenty_times_keeps_the_right_answer(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    logs = pd.read_parquet(bundle / "logs.parquet")
    pd.concat([logs] * 20, ignore_index=True).to_parquet(bundle / "logs.parquet", index=False)

    code, out, err = run_cli("investigate", "--bundle", str(bundle), "--json")

    assert code == 0, err
    assert _top(out) == _truth()
    assert any("repeated log record(s) once" in n for n in json.loads(out)["notes"])


# -- atomic outputs ------------------------------------------------------------------------


def test_a_failing_report_write_keeps_what_was_there_and_still_prints_the_result(tmp_path: Path) -> None:
    # The report path cannot be replaced (a directory of someone's notes sits there): the write
    # fails after the investigation ran. (A disk-full simulation by RLIMIT_FSIZE no longer works
    # here: the investigation store in the same process needs to grow too.)
    report = tmp_path / "incident.md"
    report.mkdir()
    (report / "notes.md").write_text("previous notes\n", encoding="utf-8")
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--report", str(report))
    assert code == 2
    assert "#1" in out  # the answer was printed before the write failed
    errors = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write the report" in errors[0] and err.strip().endswith(errors[0])
    assert "stored in" in err  # the investigation itself was kept
    assert (report / "notes.md").read_text(encoding="utf-8") == "previous notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["incident.md"]  # no temporary file left


def test_a_store_that_cannot_be_created_still_prints_the_result_and_writes_the_report(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the store's folder should be\n", encoding="utf-8")
    report = tmp_path / "incident.md"
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--json", "--report", str(report),
                             "--store", str(tmp_path / "state" / "investigations.sqlite"))
    assert code == 2
    assert _top(out) == _truth()
    assert f"### 1. {_truth()[0]}:" in report.read_text(encoding="utf-8")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "was not saved: cannot open the store" in lines[0] and "internal error" not in err


def test_a_store_whose_disk_fills_during_the_run_still_prints_the_result(tmp_path: Path) -> None:
    # A real process whose files may not grow past 200 kB: the store's first checkpoints fit,
    # the investigation's do not (SQLite then fails with an I/O error mid-run).
    store = tmp_path / "investigations.sqlite"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))\n"
        "from ui.cli import main\n"
        f"sys.exit(main(['investigate', '--bundle', {str(DEMO)!r}, '--json', '--store', {str(store)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=DEMO.parents[2], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert _top(done.stdout) == _truth()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"was not saved: the store {store} failed" in lines[0], done.stderr


def test_write_text_atomic_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("old", encoding="utf-8")
    write_text_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    with pytest.raises(TypeError):
        write_text_atomic(path, 42)  # type: ignore[arg-type]  # fails mid-write
    assert path.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_a_bundle_write_interrupted_midway_leaves_nothing_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as partial:
        shutil.copytree(DEMO, partial, dirs_exist_ok=True)
        raise KeyboardInterrupt  # killed before the end of the recording
    assert not out.exists()
    assert [p for p in tmp_path.iterdir()] == []
    code, _, err = run_cli("validate", str(out))
    assert code == 2 and "no such bundle" in err

    # A leftover temporary directory (the process was killed -9) is refused by name.
    leftover = tmp_path / ".recorded.abc.partial"
    shutil.copytree(DEMO, leftover)
    code, _, err = run_cli("validate", str(leftover))
    assert code == 2 and "unfinished write" in err

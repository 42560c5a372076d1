"""The command line end to end on the committed demo bundle, as a user runs it.

The investigation runs once for the module (with both `--json` and `--report`) to keep the
suite fast; each test then checks one thing a user relies on.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "evals" / "demo" / "bad-deploy"
HYPOTHESIS_KEYS = {
    "rank", "resource", "cause", "confidence", "title", "reasoning", "supporting_findings", "next_steps", "path",
}


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((DEMO / "incident.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    report = tmp_path_factory.mktemp("report") / "incident.md"
    code, out, err = _run("investigate", "--bundle", str(DEMO), "--json", "--report", str(report))
    return {"code": code, "out": out, "err": err, "report": report}


@pytest.fixture(scope="module")
def result(run: dict) -> dict:
    assert run["code"] == 0, run["err"]
    return json.loads(run["out"])


def test_json_output_has_the_documented_schema(result: dict) -> None:
    assert {"investigation_id", "trigger", "abstained", "hypotheses", "findings"} <= set(result)
    assert isinstance(result["investigation_id"], str) and result["investigation_id"]
    assert result["abstained"] is False
    assert result["hypotheses"], "the demo must produce at least one hypothesis"
    for position, hypothesis in enumerate(result["hypotheses"], start=1):
        assert HYPOTHESIS_KEYS <= set(hypothesis)
        assert hypothesis["rank"] == position
        assert 0.0 <= hypothesis["confidence"] <= 1.0
        assert hypothesis["title"] and hypothesis["reasoning"]
        assert hypothesis["next_steps"]
    confidences = [h["confidence"] for h in result["hypotheses"]]
    assert confidences == sorted(confidences, reverse=True)


def test_trigger_is_the_bundle_alarm(result: dict, manifest: dict) -> None:
    assert result["trigger"]["alarm_name"] == manifest["trigger"]["alarm_name"]
    assert result["trigger"]["resource"] == manifest["trigger"]["resource"]


def test_top_hypothesis_is_the_ground_truth(result: dict, manifest: dict) -> None:
    top = result["hypotheses"][0]
    truth = manifest["ground_truth"]
    assert (top["resource"], top["cause"]) == (truth["resource"], truth["cause"])
    # The distractors must not come out on top: the ALB is only where the symptom shows.
    assert top["resource"] != manifest["trigger"]["resource"]


def test_every_cited_finding_exists(result: dict) -> None:
    ids = [f["id"] for f in result["findings"]]
    assert len(ids) == len(set(ids)), "finding ids must be unique to be cited"
    for hypothesis in result["hypotheses"]:
        assert hypothesis["supporting_findings"]
        assert set(hypothesis["supporting_findings"]) <= set(ids), hypothesis["rank"]


def test_top_hypothesis_cites_the_deploy_and_the_errors(result: dict) -> None:
    findings = {f["id"]: f for f in result["findings"]}
    cited = [findings[i] for i in result["hypotheses"][0]["supporting_findings"]]
    assert any(f["kind"] == "change" and "evt-checkout-deploy" in f["evidence"]["event_ids"] for f in cited)
    assert any(f["kind"] != "change" and f["resource"] == "checkout" and f["score"] >= 0.5 for f in cited)


def test_every_hypothesis_carries_its_checked_propagation_path(result: dict, manifest: dict) -> None:
    # web-alb calls checkout; checkout fails from 14:00 and the ALB's 5xx climb from 14:00: one
    # edge, both shifted, in order. The benign catalog deploy shows no shift of catalog's own.
    findings = {f["id"]: f for f in result["findings"]}
    paths = {h["resource"]: h["path"] for h in result["hypotheses"]}
    top = paths[manifest["ground_truth"]["resource"]]
    assert [hop["resource"] for hop in top] == ["checkout", "web-alb"]
    assert all(hop["edge"] and hop["significant"] and hop["in_time"] and hop["ok"] for hop in top)
    assert [findings[hop["finding_id"]]["resource"] for hop in top] == ["checkout", "web-alb"]
    assert [hop["onset"][11:16] for hop in top] == ["14:00", "14:00"]
    assert [(hop["resource"], hop["significant"], hop["ok"]) for hop in paths["catalog"]] == [
        ("catalog", False, False), ("web-alb", True, True)]


def test_report_shows_each_hypothesis_path(run: dict) -> None:
    text = run["report"].read_text(encoding="utf-8")
    shown = text.replace("\\(", "(").replace("\\)", ")").replace("&gt;", ">")
    assert "Propagation path: checkout (14:00) -> web-alb (14:00)" in shown
    assert "Propagation path: catalog ✗ no shift -> web-alb (14:00)" in shown


def test_json_is_the_only_thing_on_stdout(run: dict) -> None:
    json.loads(run["out"])  # no progress or banner mixed into the machine-readable output
    assert "Traceback" not in run["out"] + run["err"]


def test_report_is_markdown_with_the_alarm_and_a_timeline(run: dict, result: dict, manifest: dict) -> None:
    text = run["report"].read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert manifest["trigger"]["alarm_name"] in text
    assert result["hypotheses"][0]["title"] in text
    headings = [i for i, line in enumerate(text.splitlines()) if line.startswith("#") and "timeline" in line.lower()]
    assert headings, "the report needs a timeline section"
    timeline = "\n".join(text.splitlines()[headings[0]:])
    # The timeline places the checkout deploy (13:58) before the alarm (14:05).
    assert "13:58" in timeline and "14:05" in timeline
    assert timeline.index("13:58") < timeline.index("14:05")


def test_terminal_output_shows_the_ranked_hypotheses(capsys: pytest.CaptureFixture[str], result: dict) -> None:
    code = main(["investigate", "--bundle", str(DEMO)])
    out = capsys.readouterr().out
    assert code == 0
    top = result["hypotheses"][0]
    assert top["resource"] in out
    assert f"{top['confidence']:.0%}" in out or f"{top['confidence']:.2f}" in out
    assert top["next_steps"][0][:40] in out
    assert "path: checkout (14:00) -> web-alb (14:00)" in out
    assert "path: catalog ✗ no shift -> web-alb (14:00)" in out


def test_validate_accepts_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEMO)]) == 0


def test_demo_bundle_is_small() -> None:
    assert sum(p.stat().st_size for p in DEMO.iterdir()) < 1_000_000


def test_demo_generator_reproduces_the_committed_bundle(tmp_path: Path) -> None:
    from evals.demo.generate import generate

    fresh = generate(tmp_path / "bad-deploy")
    committed_files = sorted(p.name for p in DEMO.iterdir())
    assert sorted(p.name for p in fresh.iterdir()) == committed_files
    for name in committed_files:
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(fresh / name), pd.read_parquet(DEMO / name), obj=name)
        else:
            assert (fresh / name).read_text(encoding="utf-8") == (DEMO / name).read_text(encoding="utf-8"), name

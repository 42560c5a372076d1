"""The review loop end to end through the command line, as an engineer drives it:
investigate -> show -> decide -> rerun -> report, on the committed demo bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import DEMO, run_cli

@pytest.fixture
def investigated() -> dict:
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--json")
    assert code == 0, err
    return json.loads(out)


def _show(inv_id: str, *extra: str) -> dict:
    code, out, err = run_cli("show", inv_id, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_investigate_prints_the_id_and_where_it_is_stored(private_state_dir: Path) -> None:
    code, _, err = run_cli("investigate", "--bundle", str(DEMO))
    assert code == 0
    store = private_state_dir / "investigations.sqlite"
    assert store.is_file()
    line = err.strip().splitlines()[-1]
    assert line.startswith("investigation inv-") and str(store) in line
    inv_id = line.split()[1]
    code, out, _ = run_cli("list")
    assert code == 0
    assert inv_id in out and "awaiting review" in out and "web-alb-target-5xx" in out


def test_decisions_shape_the_rerun_and_earlier_revisions_stay_readable(investigated: dict) -> None:
    inv_id = investigated["investigation_id"]
    first = investigated["hypotheses"]
    top, weakest = first[0], first[-1]
    assert len(first) >= 2 and top["resource"] != weakest["resource"]
    # A finding that only the weakest hypothesis cites: discarding it must remove it from the evidence.
    cited_elsewhere = {f for h in first[:-1] for f in h["supporting_findings"]}
    only_weak = [f for f in weakest["supporting_findings"] if f not in cited_elsewhere]
    assert only_weak
    code, out, err = run_cli("decide", inv_id, "--accept", top["resource"] and f"H-{top['resource']}",
                          "--discard", f"H-{weakest['resource']}", "--discard", only_weak[0],
                          "--reason", "benign deploy", "--by", "alice")
    assert code == 0, err
    assert "accepted H-" in out and "by alice" in out

    code, out, err = run_cli("rerun", inv_id, "--json")
    assert code == 0, err
    second = json.loads(out)
    assert second["revision"] == 2
    ids = [h["resource"] for h in second["hypotheses"]]
    assert weakest["resource"] not in ids  # a discarded hypothesis is not proposed again
    assert all(only_weak[0] not in h["supporting_findings"] for h in second["hypotheses"])
    assert len({f["id"] for f in second["findings"]}) == len(second["findings"])  # no duplicates on rerun

    latest = _show(inv_id)
    assert latest["status"] == "awaiting_review" and latest["revisions"] == [1, 2]
    assert [h["resource"] for h in _show(inv_id, "--revision", "1")["hypotheses"]] == [h["resource"] for h in first]

    code, out, _ = run_cli("show", inv_id, "--feed")
    assert code == 0
    assert f"alice accepted H-{top['resource']}: benign deploy" in out
    assert f"agent dropped hypothesis H-{weakest['resource']}" in out
    assert out.index("agent added finding") < out.index("alice accepted")


def test_report_says_unconfirmed_until_a_hypothesis_is_accepted(investigated: dict, tmp_path: Path) -> None:
    inv_id = investigated["investigation_id"]
    before = tmp_path / "before.md"
    assert run_cli("report", inv_id, "--out", str(before))[0] == 0
    assert "Root cause not yet confirmed" in before.read_text()
    top = f"H-{investigated['hypotheses'][0]['resource']}"
    assert run_cli("decide", inv_id, "--accept", top, "--by", "bob")[0] == 0
    after = tmp_path / "after.json"
    assert run_cli("report", inv_id, "--out", str(after), "--format", "json")[0] == 0
    body = json.loads(after.read_text())
    assert body["root_cause_confirmed"] is True and body["root_cause"]["id"] == top and body["accepted_by"] == "bob"
    assert body["five_whys"] and all(w["finding_id"] for w in body["five_whys"])
    assert body["action_items"][0]["priority"] == "P1" and body["action_items"][0]["owner"] == "unassigned"


@pytest.mark.parametrize("args, says", [
    (["show", "inv-doesnotexist"], "no investigation inv-doesnotexist"),
    (["decide", "inv-doesnotexist", "--accept", "x"], "no investigation inv-doesnotexist"),
    (["rerun", "inv-doesnotexist"], "no investigation inv-doesnotexist"),
    (["report", "inv-doesnotexist", "--out", "r.md"], "no investigation inv-doesnotexist"),
])
def test_unknown_investigation_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err


def test_deciding_on_an_id_the_investigation_does_not_have_is_refused(investigated: dict) -> None:
    inv_id = investigated["investigation_id"]
    code, _, err = run_cli("decide", inv_id, "--accept", "metric-00000000")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no finding or hypothesis metric-00000000" in err
    assert _show(inv_id)["revisions"] == [1]
    code, out, _ = run_cli("show", inv_id, "--feed")
    assert "accepted" not in out


def test_bad_report_format_is_refused(investigated: dict, tmp_path: Path) -> None:
    code, _, err = run_cli("report", investigated["investigation_id"], "--out", str(tmp_path / "r"), "--format", "pdf")
    assert code == 2 and "--format must be md or json" in err
    assert not (tmp_path / "r").exists()

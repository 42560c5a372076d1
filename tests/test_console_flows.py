"""The console's flows through Streamlit's own test runner (AppTest), against the real runner
and a real SQLite store in the test's state directory: start from the demo bundle, discard a
finding, accept a hypothesis, rerun, open the report; then the CLI (`investigator show`) sees
the same decisions. Also the clear states: empty bundle folder, a store that cannot be opened,
no AWS credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.cli_helpers import run_cli  # noqa: E402
from ui.console.views import plain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "ui" / "console" / "app.py")
DEMO = ROOT / "evals" / "demo" / "bad-deploy"
TIMEOUT = 120


def _texts(at: AppTest) -> str:
    return "\n".join(e.value for e in at.text) + "\n" + "\n".join(e.value for e in at.code)


def _button(at: AppTest, key: str):
    matches = [b for b in at.button if b.key == key]
    assert matches, f"no button {key!r} on the page"
    return matches[0]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "bad-deploy").symlink_to(DEMO, target_is_directory=True)
    monkeypatch.setenv("INVESTIGATOR_CONSOLE_BUNDLES", str(folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_start_discard_accept_rerun_report_and_the_cli_sees_it(app: AppTest) -> None:
    at = app
    _button(at, "start").click().run()
    assert not at.exception, at.exception
    page = _texts(at)
    assert "web-alb-target-5xx" in page  # the alarm of the demo incident, in the header
    assert "path: checkout (14:00) -> web-alb (14:00)" in page  # the engine's checked propagation path
    code, out, err = run_cli("list", "--limit", "5")
    assert code == 0, err
    inv_id = out.split()[0]
    shown = json.loads(run_cli("show", inv_id, "--json")[1])
    top, last = shown["hypotheses"][0], shown["hypotheses"][-1]
    assert top["resource"] == "checkout"  # the demo's ground truth (evals/demo/bad-deploy/incident.yaml)
    # A finding only the last hypothesis cites: discarding it must take it out of the evidence.
    elsewhere = {f for h in shown["hypotheses"][:-1] for f in h["supporting_findings"]}
    only_last = [f for f in last["supporting_findings"] if f not in elsewhere]
    assert only_last, "the demo's weakest hypothesis should cite a finding of its own"
    discarded = only_last[0]
    top_id = top["id"] if "id" in top else f"H-{top['resource']}"
    assert any(b.key == f"accept-{top_id}" for b in at.button)

    _button(at, f"discard-{discarded}").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith(plain(f"discarded {discarded};")) for e in at.success)
    _button(at, f"accept-{top_id}").click().run()
    assert not at.exception, at.exception
    note = [t for t in at.text_input if t.key == f"note-{top_id}"][0]
    note.input("deploy 42 rolled back at 10:05").run()
    _button(at, f"savenote-{top_id}").click().run()
    assert not at.exception, at.exception

    # The decisions are in the store before any rerun: the CLI sees them.
    code, out, err = run_cli("show", inv_id, "--feed", "--json")
    assert code == 0, err
    decided = {(e["target_id"], e["action"]) for e in json.loads(out) if e["actor"] != "agent"}
    assert decided == {(discarded, "discarded"), (top_id, "accepted"), (top_id, "noted on")}

    _button(at, "rerun").click().run()
    assert not at.exception, at.exception
    assert any(f"{inv_id} · revision 2 · awaiting review" in h.value for h in at.subheader)
    second = json.loads(run_cli("show", inv_id, "--json")[1])
    assert second["revisions"] == [1, 2]
    assert all(discarded not in h["supporting_findings"] for h in second["hypotheses"])
    assert "[accepted]" in _texts(at)

    report = "\n".join(c.value for c in at.code if "Root cause" in c.value or "root cause" in c.value)
    assert report, "the report tab shows the Markdown report"
    assert "not yet confirmed" not in report  # a hypothesis was accepted: the root cause is of record
    assert "checkout" in report and "deploy 42 rolled back at 10:05" in report
    # The same report the CLI writes for the latest revision.
    out_file = Path(at.session_state["bundle_folder"]) / "r.md"
    code, _, err = run_cli("report", inv_id, "--out", str(out_file))
    assert code == 0, err
    assert out_file.read_text(encoding="utf-8").strip() == report.strip()


def test_an_empty_bundle_folder_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INVESTIGATOR_CONSOLE_BUNDLES", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("No recorded incidents" in w.value for w in at.sidebar.warning)
    assert not [b for b in at.button if b.key == "start"]


def test_a_store_that_cannot_be_opened_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    monkeypatch.setenv("INVESTIGATOR_STORE", str(blocker / "investigations.sqlite"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("store cannot be opened" in e.value for e in at.error)
    assert str(blocker) in _texts(at)


def test_no_aws_credentials_offers_the_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.radio(key="mode").set_value("Alarm (AWS or emulator)").run()
    at.text_input(key="region").input("us-east-1").run()
    assert not at.exception, at.exception
    assert any("no AWS credentials" in e.value for e in at.sidebar.error)
    assert any(b.key == "use-emulator" for b in at.sidebar.button)

"""The console's live path against the local emulator (real HTTP on 127.0.0.1): list the alarms in
ALARM state, investigate one, rerun it (which reads the alarm again), all through AppTest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tools.emulator.control import free_port, start_emulator, stop_emulator  # noqa: E402
from tools.emulator.state import EmulatorState  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "ui" / "console" / "app.py")
DEMO = ROOT / "evals" / "demo" / "bad-deploy"


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorState]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    state_dir = tmp_path / "emulator"
    state = start_emulator(state_dir, incident=DEMO, port=free_port())
    try:
        yield state
    finally:
        stop_emulator(state_dir)


def test_an_alarm_in_the_emulator_is_listed_investigated_and_rerun(emulator: EmulatorState) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="mode").set_value("Alarm (AWS or emulator)").run()
    at.text_input(key="region").input(emulator.region).run()
    at.text_input(key="endpoint").input(emulator.endpoint_url).run()
    assert not at.exception, at.exception
    listed = at.selectbox(key="alarm")
    assert any(emulator.alarm_name in option for option in listed.options)
    listed.select_index([i for i, o in enumerate(listed.options) if emulator.alarm_name in o][0]).run()
    next(b for b in at.button if b.key == "start-alarm").click().run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert any("revision 1 · awaiting review" in h for h in headers), headers
    page = "\n".join(t.value for t in at.text)
    assert f"alarm {emulator.alarm_name}" in page
    assert "#1  checkout  [change]" in page  # the demo's injected fault, read through boto3

    next(b for b in at.button if b.key == "rerun").click().run()
    assert not at.exception, at.exception
    assert any("revision 2 · awaiting review" in h.value for h in at.subheader)

"""The console's reasoner choice through Streamlit's AppTest, with the real `anthropic` SDK
pointed at the local model stub: Claude's hypotheses and the token/cost line on the page, the
rerun going to Claude too, the one-line fallback when the model is overloaded, and the choice
disabled (saying what to set) when Claude is not configured."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from agent.runner import investigate_bundle  # noqa: E402
from tests.model_stub import ModelStub, answer, overloaded  # noqa: E402
from ui.console.views import plain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "ui" / "console" / "app.py")
DEMO = ROOT / "evals" / "demo" / "bad-deploy"
TIMEOUT = 120
CLAUDE_SAYS = "The checkout deploy shipped a null payment token; every checkout call since fails."


def _texts(at: AppTest) -> str:
    return "\n".join(e.value for e in at.text)


def _claude_answer() -> list:
    # Which finding ids exist comes from the deterministic run of the same bundle, never copied.
    top = investigate_bundle(DEMO).hypotheses[0]
    return [answer([{"resource": top.resource, "cause": top.cause, "reasoning": CLAUDE_SAYS,
                     "cited_findings": top.supporting_findings, "next_steps": ["roll back the deploy"]}],
                   input_tokens=2000, output_tokens=100)]


@pytest.fixture
def bundles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "bad-deploy").symlink_to(DEMO, target_is_directory=True)
    monkeypatch.setenv("INVESTIGATOR_CONSOLE_BUNDLES", str(folder))
    return folder


def test_claude_chosen_in_the_console_writes_the_hypotheses_and_shows_the_cost(
        bundles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    monkeypatch.setenv("INVESTIGATOR_REASONER__MAX_RETRIES", "0")
    with ModelStub(_claude_answer(), default=overloaded()) as stub:
        monkeypatch.setenv("INVESTIGATOR_REASONER__BASE_URL", stub.url)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        choice = at.radio(key="reasoner")
        assert choice.value == "deterministic" and not choice.disabled
        choice.set_value("claude").run()
        [b for b in at.button if b.key == "start"][0].click().run()
        assert not at.exception, at.exception
        page = _texts(at)
        assert CLAUDE_SAYS in page
        # Sonnet list prices: 2000 x 3 $/M in + 100 x 15 $/M out = $0.0075.
        assert "model usage: 1 request(s): 2000 input" in page and "~$0.0075" in page
        assert any("hypotheses written by Claude" in i.value for i in at.info)
        assert len(stub.messages) == 1

        # The rerun goes to Claude as well; the stub now answers 529 overloaded: the engine's
        # hypotheses are shown with one line saying why.
        [b for b in at.button if b.key == "rerun"][0].click().run()
        assert not at.exception, at.exception
        assert any("revision 2" in h.value for h in at.subheader)
        assert len(stub.messages) == 2
    warnings = [w.value for w in at.warning if "Claude unavailable" in w.value]
    assert len(warnings) == 1 and "529" in warnings[0] and "deterministic" in warnings[0]
    assert CLAUDE_SAYS not in _texts(at)


def test_without_a_key_the_console_stays_deterministic_and_says_what_to_set(bundles: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    choice = at.radio(key="reasoner")
    assert choice.value == "deterministic" and choice.disabled
    assert any(plain("ANTHROPIC_API_KEY") in c.value for c in at.sidebar.caption)
    [b for b in at.button if b.key == "start"][0].click().run()
    assert not at.exception, at.exception
    assert "model usage" not in _texts(at)

"""`--reasoner claude` from the command line: against the stub end to end, and without a key."""

from __future__ import annotations

import json

import pytest

from tests.model_stub import ModelStub, answer
from tests.cli_helpers import DEMO, run_cli

def test_investigate_with_claude_prints_the_usage_and_puts_it_in_the_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    # Which finding ids exist comes from the deterministic run of the same bundle.
    code, out, _ = run_cli("investigate", "--bundle", str(DEMO), "--json")
    engine = json.loads(out)
    top = engine["hypotheses"][0]
    script = [answer([{"resource": top["resource"], "cause": top["cause"], "reasoning": "the deploy broke checkout",
                       "cited_findings": top["supporting_findings"], "next_steps": ["roll back"]}],
                     input_tokens=2000, output_tokens=100)]
    with ModelStub(script) as stub:
        monkeypatch.setenv("INVESTIGATOR_REASONER__BASE_URL", stub.url)
        code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--reasoner", "claude", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["hypotheses"][0]["reasoning"] == "the deploy broke checkout"
    assert body["reasoner"]["usage"]["input_tokens"] == 2000
    assert body["reasoner"]["usage"]["cost_usd"] == pytest.approx((2000 * 3 + 100 * 15) / 1_000_000)
    assert "model usage: 1 request(s): 2000 input" in err


@pytest.mark.parametrize("command", [["eval", "out/nowhere"], ["investigate", "--bundle", str(DEMO)]])
def test_claude_without_a_key_says_what_to_set(command: list[str]) -> None:
    code, out, err = run_cli(*command, "--reasoner", "claude")
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert "ANTHROPIC_API_KEY" in err and "bedrock" in err.lower()


def test_an_unknown_reasoner_is_a_one_line_error() -> None:
    code, _, err = run_cli("investigate", "--bundle", str(DEMO), "--reasoner", "gpt")
    assert code == 2 and "--reasoner must be deterministic or claude" in err


def test_rerun_with_claude_uses_it_for_the_new_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first revision is the engine's own; the engineer asks Claude for a second opinion on rerun.
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--json")
    assert code == 0, err
    first = json.loads(out)
    top = first["hypotheses"][0]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    script = [answer([{"resource": top["resource"], "cause": top["cause"], "reasoning": "second opinion: the deploy",
                       "cited_findings": top["supporting_findings"], "next_steps": ["roll back"]}])]
    with ModelStub(script) as stub:
        monkeypatch.setenv("INVESTIGATOR_REASONER__BASE_URL", stub.url)
        code, out, err = run_cli("rerun", first["investigation_id"], "--reasoner", "claude", "--json")
    assert code == 0, err
    second = json.loads(out)
    assert second["revision"] == 2
    assert second["hypotheses"][0]["reasoning"] == "second opinion: the deploy"

"""Counting before sending: the Anthropic API's `messages.count_tokens` measures each request
against the budget (and decides how many findings fit); when counting fails, the local
over-estimate does, and the investigation goes on. Real SDK against the local model stub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.reasoners.claude.compact import estimate_tokens
from agent.runner import investigate_bundle
from domain.models import Investigation
from domain.settings import ReasonerOptions, Settings
from tests.model_stub import ModelStub, Reply, answer, counted, four_bytes_per_token

DEMO = Path(__file__).resolve().parents[1] / "evals" / "demo" / "bad-deploy"
SAYS = "the checkout deploy broke the payment token"


@pytest.fixture(scope="module")
def engine() -> Investigation:
    return investigate_bundle(DEMO)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")


def _run(engine: Investigation, count, **overrides) -> tuple[Investigation, ModelStub]:
    top = engine.hypotheses[0]
    script = [answer([{"resource": top.resource, "cause": top.cause, "reasoning": SAYS,
                       "cited_findings": top.supporting_findings, "next_steps": ["roll back"]}])]
    with ModelStub(script, count=count) as stub:
        reasoner = ReasonerOptions(**{"name": "claude", "base_url": stub.url, "max_retries": 2, "timeout_s": 5, **overrides})
        inv = investigate_bundle(DEMO, settings=Settings.defaults().model_copy(update={"reasoner": reasoner}))
    return inv, stub


def _estimate(body: dict) -> int:
    """The local estimate of a request as the stub received it (system, tools and messages)."""
    return estimate_tokens(json.dumps({k: body[k] for k in ("system", "tools", "messages")}, ensure_ascii=False))


def _sent_ids(body: dict) -> set[str]:
    prompt = body["messages"][0]["content"][0]["text"]
    return {line.split('"id":"')[1].split('"')[0] for line in prompt.splitlines() if line.startswith('{"id":')}


def test_the_provider_count_is_what_is_checked_and_reported(engine: Investigation) -> None:
    inv, stub = _run(engine, counted(1234))
    sent = stub.messages[0]
    assert inv.hypotheses[0].reasoning == SAYS and not inv.reasoner.fell_back
    # The request counted last is the one sent next, tool choice included.
    last = stub.token_counts[-1]
    assert {k: last[k] for k in ("model", "system", "tools", "messages", "tool_choice")} == \
        {k: sent[k] for k in ("model", "system", "tools", "messages", "tool_choice")}
    assert inv.reasoner.usage.largest_request_tokens == 1234 != _estimate(sent)


def test_the_count_not_the_over_estimate_decides_what_fits(engine: Investigation) -> None:
    # 3,000 tokens for the first turn (60 % of 5,000) by the 1-per-3-bytes estimate leaves findings
    # out of the demo's prompt; counted at 4 bytes a token (the stub's default) more of them fit.
    estimated, by_estimate = _run(engine, Reply(status=500, body={"type": "error", "error": {"type": "api_error", "message": "x"}}),
                                  input_token_budget=5_000)
    by_count, counted_stub = _run(engine, four_bytes_per_token, input_token_budget=5_000)
    assert estimated.reasoner.trimmed_findings > by_count.reasoner.trimmed_findings
    assert _sent_ids(by_estimate.messages[0]) < _sent_ids(counted_stub.messages[0])
    assert by_count.reasoner.usage.largest_request_tokens <= 3_000 < _estimate(counted_stub.messages[0])


@pytest.mark.parametrize("failure", [
    Reply(status=500, body={"type": "error", "error": {"type": "api_error", "message": "counting is down"}}),
    Reply(status=404, body={"type": "error", "error": {"type": "not_found_error", "message": "a gateway without the route"}}),
    Reply(body="{not json"),
    Reply(body={"unexpected": "shape"}),
    Reply(body={}, delay_s=2.0),  # slower than the 0.5 s timeout
], ids=["500", "404", "malformed", "no-count", "timeout"])
def test_a_failed_count_falls_back_to_the_estimate(engine: Investigation, failure: Reply) -> None:
    inv, stub = _run(engine, failure, timeout_s=0.5 if failure.delay_s else 5)
    assert inv.hypotheses[0].reasoning == SAYS and not inv.reasoner.fell_back
    assert inv.reasoner.usage.largest_request_tokens == _estimate(stub.messages[0])
    assert len(stub.token_counts) == 1  # one try, then the estimate for the rest of the investigation

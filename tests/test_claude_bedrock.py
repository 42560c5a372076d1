"""Claude on Amazon Bedrock: `AnthropicBedrock` (the real SDK, SigV4 with fake static AWS
credentials) pointed by the base-URL setting at the local model stub's Bedrock route,
`POST /model/{modelId}/invoke`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.reasoners.claude.compact import estimate_tokens
from agent.runner import investigate_bundle
from domain.models import Investigation
from domain.settings import ReasonerOptions, Settings
from tests.model_stub import ModelStub, answer, overloaded

DEMO = Path(__file__).resolve().parents[1] / "evals" / "demo" / "bad-deploy"
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
KEY_ID = "AKIDSTUBEXAMPLE00000"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub-secret-not-real")


def _bedrock(stub: ModelStub, **overrides) -> Settings:
    reasoner = ReasonerOptions(**{"name": "claude", "provider": "bedrock", "region": "eu-west-1", "model": MODEL,
                                  "base_url": stub.url, "max_retries": 1, "timeout_s": 5, **overrides})
    return Settings.defaults().model_copy(update={"reasoner": reasoner})


def test_claude_through_bedrock_uses_the_invoke_route_and_the_answer() -> None:
    engine: Investigation = investigate_bundle(DEMO)
    top = engine.hypotheses[0]
    says = "bedrock: the checkout deploy broke the payment token"
    script = [answer([{"resource": top.resource, "cause": top.cause, "reasoning": says,
                       "cited_findings": top.supporting_findings, "next_steps": ["roll back"]}],
                     input_tokens=1500, output_tokens=80)]
    with ModelStub(script) as stub:
        inv = investigate_bundle(DEMO, settings=_bedrock(stub))
    [request] = stub.received  # no token count: Bedrock does not offer one
    assert request.bedrock_model == MODEL
    assert request.route == f"/model/{MODEL}/invoke"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/eu-west-1/bedrock/aws4_request" in request.headers["authorization"]
    # Bedrock takes the model in the path and the API version in the body (the SDK sets which).
    assert "anthropic_version" in request.body and "model" not in request.body
    assert inv.hypotheses[0].resource == top.resource and inv.hypotheses[0].reasoning == says
    assert not inv.reasoner.fell_back and inv.reasoner.model == MODEL
    usage = inv.reasoner.usage
    assert (usage.input_tokens, usage.output_tokens) == (1500, 80)
    assert usage.cost_usd == pytest.approx((1500 * 3 + 80 * 15) / 1_000_000)  # Sonnet list prices
    # Measured by the local estimate, the same way the report shows it for the API.
    assert usage.largest_request_tokens == estimate_tokens(json.dumps(
        {k: request.body[k] for k in ("system", "tools", "messages")}, ensure_ascii=False))


def test_bedrock_staying_overloaded_falls_back_in_one_line() -> None:
    with ModelStub([], default=overloaded()) as stub:
        inv = investigate_bundle(DEMO, settings=_bedrock(stub))
    assert len(stub.message_requests) == 2  # the first try and the one retry configured
    assert all(r.bedrock_model == MODEL for r in stub.message_requests)
    assert inv.reasoner.note == "Claude unavailable (HTTP 529 after retries): showing the deterministic engine's hypotheses"

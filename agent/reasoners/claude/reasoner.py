"""Claude over the engine's findings: one conversation per investigation, grounded by code.

The conversation: the stable prefix (tools and system prompt, cached), then the incident
(alarm, scope, the engine's hypotheses with their paths, compact findings within the
budget), then up to `rounds` model turns. Every request is counted before it is sent: by the
provider's `messages.count_tokens` where it offers one (the Anthropic API), else (Bedrock, or
when counting fails) by the local over-estimate; tool results that would overflow the budget
are not sent and the model is told to answer. When the model is unavailable or answers badly,
the engine's hypotheses are returned with a one-line note saying so.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.reasoners.claude.compact import compact_finding, estimate_tokens, fit_findings
from agent.reasoners.claude.cost import estimate_cost
from agent.reasoners.claude.digging import TOOLS, Digger, envelope_text
from agent.reasoners.claude.grounding import ANSWER_SCHEMA, ground, parse_answer
from agent.reasoners.claude.paths import path_of
from agent.reasoners.claude.prompt import ANSWER_TOOL, investigation_prompt, system_prompt
from agent.state import Scope
from domain.models import Finding, Hypothesis, ModelUsage, ReasonerReport, Trigger
from domain.settings import ReasonerOptions
from tools.redact import redact_text
from tools.source import TelemetrySource

# The first turn may use this share of the budget; the rest is room for what tools return.
FIRST_TURN_SHARE = 0.6
ANSWER_TOOL_SPEC = {
    "name": ANSWER_TOOL,
    "description": "Submit the root-cause hypotheses, best first. Call exactly once, at the end.",
    "input_schema": ANSWER_SCHEMA,
}


class ReasoningInput(BaseModel):
    """What the Claude reasoner reads: the engine's result and the evidence behind it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    trigger: Trigger
    scope: Scope
    hypotheses: list[Hypothesis]
    findings: list[Finding]
    abstained: bool = False
    abstain_reason: str | None = None


class ReasonerResult(BaseModel):
    hypotheses: list[Hypothesis]
    report: ReasonerReport
    notes: list[str] = Field(default_factory=list)


class BadAnswer(ValueError):
    """The model answered, but not with something the program can use."""


def _blocks(content: list[Any]) -> list[dict[str, Any]]:
    """The assistant turn as request blocks (only the fields the API takes back)."""
    out: list[dict[str, Any]] = []
    for block in content:
        if block.type == "text":
            out.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            out.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
    return out


AUTO: dict[str, str] = {"type": "auto"}
# Counting is a cheap, best-effort call: one try, a short wait, then the estimate.
COUNT_TIMEOUT_S = 10.0


class ClaudeReasoner:
    """`reason(request)` -> the grounded hypotheses and a report of what the model did."""

    def __init__(self, options: ReasonerOptions, source: TelemetrySource, client: Any):
        self.options, self.source, self.client = options, source, client
        # Bedrock does not offer token counting (the SDK refuses it): the estimate is used there.
        self._counter = _token_counter(client, min(COUNT_TIMEOUT_S, options.timeout_s)) if options.provider == "anthropic" else None

    def _request_tokens(self, system: list[dict], tools: list[dict], messages: list[dict]) -> int:
        return estimate_tokens(json.dumps({"system": system, "tools": tools, "messages": messages}, ensure_ascii=False))

    def _count(self, system: list[dict], tools: list[dict], messages: list[dict], tool_choice: dict) -> int:
        """Input tokens of the request: the provider's count where it can give one, else the estimate.

        A count that fails (an error, a timeout, a gateway without the route) is not retried for
        the rest of the investigation: the estimate over-counts, so the budget still holds.
        """
        import anthropic

        if self._counter is not None:
            try:
                counted = self._counter.messages.count_tokens(
                    model=self.options.model, system=system, tools=tools, messages=messages, tool_choice=tool_choice)
                tokens = getattr(counted, "input_tokens", None)
                if isinstance(tokens, int) and tokens > 0:
                    return tokens
            except (anthropic.AnthropicError, json.JSONDecodeError):
                pass
            self._counter = None
        return self._request_tokens(system, tools, messages)

    def _fits(self, system: list[dict], tools: list[dict], messages: list[dict], limit: int, tool_choice: dict) -> bool:
        # The estimate over-counts: when it fits, the count would too, and no call is needed.
        return (self._request_tokens(system, tools, messages) <= limit
                or self._count(system, tools, messages, tool_choice) <= limit)

    def reason(self, request: ReasoningInput) -> ReasonerResult:
        import anthropic  # the llm extra; the client passed in proves it is installed

        opts = self.options
        report = ReasonerReport(name="claude", model=opts.model, usage=ModelUsage(budget_tokens=opts.input_token_budget))
        paths = {h.resource: path_of(h, request.scope.topology, request.scope.entry) for h in request.hypotheses}
        system = [{"type": "text", "text": system_prompt(opts.rounds), "cache_control": {"type": "ephemeral"}}]
        tools = [*TOOLS, ANSWER_TOOL_SPEC]
        cited: dict[str, int] = {}
        for rank, hyp in enumerate(request.hypotheses):
            for finding_id in hyp.supporting_findings:
                cited.setdefault(finding_id, rank)

        def first_turn(kept: list[Finding]) -> list[dict]:
            text = investigation_prompt(
                request.trigger, request.scope, [(h, paths[h.resource]) for h in request.hypotheses],
                [compact_finding(f) for f in kept], total=len(request.findings),
                abstained=request.abstained, abstain_reason=request.abstain_reason)
            return [{"role": "user", "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}]

        limit = int(opts.input_token_budget * FIRST_TURN_SHARE)
        opening = _tool_choice(final=opts.rounds == 1)
        kept, report.trimmed_findings = fit_findings(
            request.findings, cited, lambda fs: self._fits(system, tools, first_turn(fs), limit, opening))
        messages = first_turn(kept)
        try:
            answer = self._converse(system, tools, messages, request, report)
            grounded = ground(answer, request.hypotheses, request.findings,
                              {**paths, **{r: [r] for r in request.scope.resources if r not in paths}})
        except BadAnswer as exc:
            return self._fallback(request, report, f"Claude answered badly ({exc})")
        except anthropic.AnthropicError as exc:
            return self._fallback(request, report, f"Claude unavailable ({_describe(exc)})")
        finally:
            report.usage.cost_usd = estimate_cost(opts.model, report.usage)
        report.dropped = grounded.dropped
        if not grounded.hypotheses and request.hypotheses:
            return self._fallback(request, report, "no hypothesis of Claude's cited valid evidence")
        notes = list(grounded.notes)
        if grounded.dropped:
            notes.append("dropped Claude hypotheses: " + "; ".join(f"{d.resource} ({d.reason})" for d in grounded.dropped))
        if report.trimmed_findings:
            notes.append(f"{report.trimmed_findings} weakest findings were left out of Claude's prompt to fit "
                         f"the {opts.input_token_budget}-token budget")
        report.note = f"hypotheses written by Claude ({opts.model}), grounded in the engine's findings"
        return ReasonerResult(hypotheses=grounded.hypotheses, report=report, notes=notes)

    def _converse(self, system, tools, messages, request: ReasoningInput, report: ReasonerReport):
        opts = self.options
        digger = Digger(self.source, request.scope)
        aliases = {redact_text(r): r for r in request.scope.resources}
        aliases.update({redact_text(f.resource): f.resource for f in request.findings})
        must_answer = False
        for turn in range(opts.rounds):
            final = must_answer or turn == opts.rounds - 1
            tool_choice = _tool_choice(final)
            tokens = self._count(system, tools, messages, tool_choice)
            report.usage.largest_request_tokens = max(report.usage.largest_request_tokens, tokens)
            if tokens > opts.input_token_budget:
                raise BadAnswer(f"the conversation outgrew the {opts.input_token_budget}-token budget")
            try:
                response = self.client.messages.create(
                    model=opts.model, max_tokens=opts.max_output_tokens, system=system, tools=tools, messages=messages,
                    tool_choice=tool_choice,
                )
            except json.JSONDecodeError as exc:
                raise BadAnswer("the response was not valid JSON") from exc
            _account(report.usage, response.usage)
            uses = [b for b in response.content if b.type == "tool_use"]
            answer = next((b for b in uses if b.name == ANSWER_TOOL), None)
            if answer is not None:
                try:
                    parsed = parse_answer(answer.input)
                except ValueError as exc:
                    raise BadAnswer(str(exc)) from exc
                for hyp in parsed.hypotheses:
                    hyp.resource = aliases.get(hyp.resource, hyp.resource)
                return parsed
            if final:
                raise BadAnswer(f"no {ANSWER_TOOL} call in the final turn")
            messages.append({"role": "assistant", "content": _blocks(response.content)})
            if not uses:
                messages.append({"role": "user", "content": f"Call {ANSWER_TOOL} now."})
                must_answer = True
                continue
            results = []
            for use in uses:
                report.tool_calls.append(use.name)
                result = digger.call(use.name, use.input if isinstance(use.input, dict) else {})
                results.append({"type": "tool_result", "tool_use_id": use.id,
                                "content": f"<untrusted-data>{envelope_text(result)}</untrusted-data>"})
            messages.append({"role": "user", "content": results})
            if not self._fits(system, tools, messages, opts.input_token_budget, AUTO):
                # Send the calls back unanswered rather than overflow the budget, and ask for the answer.
                messages[-1] = {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": use.id, "is_error": True,
                     "content": "not run: the token budget is spent; answer with the evidence you have"} for use in uses]}
                must_answer = True
        raise BadAnswer(f"no answer within {opts.rounds} rounds")

    def _fallback(self, request: ReasoningInput, report: ReasonerReport, why: str) -> ReasonerResult:
        report.fell_back = True
        report.note = f"{why}: showing the deterministic engine's hypotheses"
        return ReasonerResult(hypotheses=request.hypotheses, report=report, notes=[report.note])


def _tool_choice(final: bool) -> dict[str, str]:
    return {"type": "tool", "name": ANSWER_TOOL} if final else AUTO


def _token_counter(client: Any, timeout_s: float) -> Any | None:
    """The client for `count_tokens` calls (no retries, a short timeout), or None without the method."""
    if not hasattr(getattr(client, "messages", None), "count_tokens"):
        return None
    with_options = getattr(client, "with_options", None)
    return with_options(max_retries=0, timeout=timeout_s) if with_options else client


def _account(usage: ModelUsage, reported: Any) -> None:
    usage.requests += 1
    usage.input_tokens += reported.input_tokens or 0
    usage.output_tokens += reported.output_tokens or 0
    usage.cache_read_tokens += getattr(reported, "cache_read_input_tokens", None) or 0
    usage.cache_write_tokens += getattr(reported, "cache_creation_input_tokens", None) or 0


def _describe(exc: BaseException) -> str:
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return "no response within the timeout, after retries"
    if isinstance(exc, anthropic.APIStatusError):
        return f"HTTP {exc.status_code} after retries"
    if isinstance(exc, anthropic.APIConnectionError):
        return "cannot connect"
    return type(exc).__name__

"""Claude as a second investigator: compact findings in, grounded hypotheses out.

- `compact`: findings reduced to what a reader needs, redacted, and trimmed to the budget;
- `prompt`: the Jinja2 prompts and the fenced data block;
- `digging`: read-only tools over the TelemetrySource the model may call;
- `grounding`: what of the model's answer survives (citations, confidence, ordering);
- `client`: the one place a provider client (API, Bedrock, gateway) is built;
- `reasoner`: the conversation loop and the fallback to the deterministic hypotheses.
"""

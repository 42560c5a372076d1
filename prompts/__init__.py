"""Prompt and report templates (Jinja2), shipped as package data: load them with
`agent.templates.environment()`, never by a path relative to the source tree."""

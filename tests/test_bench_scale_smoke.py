"""Smoke run of the scale benchmark's generator at a tiny size (not a timing test).

The benchmark is only worth its numbers if the incident it times is a valid bundle of the
promised shape and the investigation finds the fault it injects.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import MINUTES, ONSET_MINUTE, SERIES_PER_RESOURCE, generate  # noqa: E402
from tools.bundle.validate import load_manifest, validate_bundle  # noqa: E402

FACTOR = 0.06  # 30 resources, 600 series, 60,000 log lines, about 12,000 spans


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale") / "bundle"
    return out, generate(FACTOR, out, seed=3)


def test_generated_incident_is_a_valid_bundle_of_the_requested_size(bundle):
    out, incident = bundle
    assert validate_bundle(out) == []
    manifest = load_manifest(out)
    assert len(manifest.topology.resources) == incident.resources == 30
    metrics = pd.read_parquet(out / "metrics.parquet")
    # 20 series per resource, one point per minute for four hours.
    assert metrics.groupby(["resource", "namespace", "metric", "stat", "dimensions"]).ngroups == 30 * SERIES_PER_RESOURCE
    assert len(metrics) == 30 * SERIES_PER_RESOURCE * MINUTES
    assert len(pd.read_parquet(out / "logs.parquet")) == 60_000
    spans = pd.read_parquet(out / "spans.parquet")
    assert 0.8 * 12_000 <= len(spans) <= 1.2 * 12_000
    # Every parent named by a span exists in the same trace.
    parents = spans.dropna(subset=["parent_id"]).merge(
        spans[["trace_id", "span_id"]], left_on=["trace_id", "parent_id"], right_on=["trace_id", "span_id"], how="left", indicator=True,
    )
    assert (parents["_merge"] == "both").all()


def test_dimensions_include_availability_zones(bundle):
    out, _ = bundle
    dims = pd.read_parquet(out / "metrics.parquet", columns=["dimensions"])["dimensions"].drop_duplicates()
    zones = {json.loads(d).get("AvailabilityZone") for d in dims} - {None}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_root_cause_fails_only_after_the_onset_and_logs_a_new_exception(bundle):
    out, incident = bundle
    onset = load_manifest(out).window.start + pd.Timedelta(minutes=ONSET_MINUTE)
    logs = pd.read_parquet(out / "logs.parquet")
    new = logs[logs["message"].str.contains("NullPointerException", regex=False)]
    assert len(new) > 0
    assert set(new["resource"]) == {incident.root_cause}
    assert (new["timestamp"] >= onset).all()
    spans = pd.read_parquet(out / "spans.parquet")
    own = spans[(spans["service"] == incident.root_cause) & (spans["status"] == "500")]
    assert len(own) > 0 and (own["start"] >= onset).all()


def test_investigation_ranks_the_injected_root_cause_first(bundle):
    from agent.runner import investigate_bundle

    out, incident = bundle
    result = investigate_bundle(out)
    assert not result.abstained
    assert result.hypotheses[0].resource == incident.root_cause

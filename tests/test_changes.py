"""Change analysis: what kind of change a CloudTrail event is, and how suspicious its timing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.models import ChangeEvent
from tools.analysis.changes import HALF_LIFE, LOOKBACK, ONSET_SLACK, change_findings, change_kind, proximity

ONSET = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _event(name: str, source: str = "aws", *, minutes_before: float = 5.0, resource: str | None = "api", id: str = "e1") -> ChangeEvent:
    return ChangeEvent(id=id, time=ONSET - timedelta(minutes=minutes_before), source=source, event_name=name, resource=resource)


@pytest.mark.parametrize(
    ("event_name", "source", "kind"),
    [
        ("UpdateService", "ecs.amazonaws.com", "deploy"),
        ("UpdateFunctionCode", "lambda.amazonaws.com", "deploy"),
        ("RegisterTaskDefinition", "ecs.amazonaws.com", "deploy"),
        ("DetachRolePolicy", "iam.amazonaws.com", "permission"),
        ("PutRolePolicy", "iam.amazonaws.com", "permission"),
        ("RevokeSecurityGroupIngress", "ec2.amazonaws.com", "network"),
        ("AuthorizeSecurityGroupEgress", "ec2.amazonaws.com", "network"),
        ("ReplaceRoute", "ec2.amazonaws.com", "network"),
        ("PutParameter", "ssm.amazonaws.com", "configuration"),
        ("UpdateFunctionConfiguration", "lambda.amazonaws.com", "configuration"),
        ("SetDesiredCapacity", "autoscaling.amazonaws.com", "scaling"),
    ],
)
def test_change_kind_of_real_cloudtrail_events(event_name: str, source: str, kind: str) -> None:
    assert change_kind(_event(event_name, source)) == kind


@pytest.mark.parametrize(
    ("event_name", "source", "kind"),
    [
        pytest.param("UpdateAutoScalingGroup", "autoscaling.amazonaws.com", "scaling"),
        pytest.param("PutScalingPolicy", "autoscaling.amazonaws.com", "scaling"),
        pytest.param("ModifyTargetGroupAttributes", "elasticloadbalancing.amazonaws.com", "network"),
    ],
)
def test_change_kind_of_groups_and_policies_that_are_not_iam(event_name: str, source: str, kind: str) -> None:
    assert change_kind(_event(event_name, source)) == kind


def test_proximity_is_one_at_the_onset() -> None:
    assert proximity(ONSET, ONSET) == pytest.approx(1.0)


def test_proximity_halves_every_half_life_before() -> None:
    assert proximity(ONSET - HALF_LIFE, ONSET) == pytest.approx(0.5)
    assert proximity(ONSET - 2 * HALF_LIFE, ONSET) == pytest.approx(0.25)


def test_proximity_decreases_with_lead_time() -> None:
    leads = [timedelta(minutes=m) for m in (0, 1, 5, 15, 45, 90, 170)]
    scores = [proximity(ONSET - lead, ONSET) for lead in leads]
    assert all(a > b for a, b in zip(scores, scores[1:]))


def test_a_change_just_after_the_onset_still_counts_within_the_slack() -> None:
    # Alarm periods and clocks are coarse: a change logged within the slack after the onset may still be the cause.
    assert proximity(ONSET + ONSET_SLACK / 2, ONSET) == pytest.approx(1.0)


def test_a_change_after_the_onset_slack_cannot_be_the_cause() -> None:
    assert proximity(ONSET + ONSET_SLACK + timedelta(seconds=1), ONSET) == 0.0
    assert proximity(ONSET + timedelta(hours=1), ONSET) == 0.0


def test_a_change_beyond_the_lookback_is_forgotten() -> None:
    assert proximity(ONSET - LOOKBACK - timedelta(minutes=1), ONSET) == 0.0
    assert proximity(ONSET - timedelta(days=2), ONSET) == 0.0
    # ...while just inside the lookback it still counts a little.
    assert proximity(ONSET - LOOKBACK + timedelta(minutes=1), ONSET) > 0.0


def test_change_findings_score_by_timing_and_keep_the_event() -> None:
    close = _event("UpdateService", "ecs.amazonaws.com", minutes_before=0.0, id="close")
    older = _event("UpdateService", "ecs.amazonaws.com", minutes_before=float(HALF_LIFE.total_seconds() / 60), id="older")
    after = _event("UpdateService", "ecs.amazonaws.com", minutes_before=-30.0, id="after")
    findings = {f.evidence.event_ids[0]: f for f in change_findings([close, older, after], reference=ONSET)}
    assert findings["close"].score == pytest.approx(1.0)
    assert findings["older"].score == pytest.approx(0.5)
    assert findings["after"].score == 0.0
    assert {f.kind for f in findings.values()} == {"change"}
    assert findings["close"].resource == "api"
    assert findings["close"].onset == ONSET
    assert len({f.id for f in findings.values()}) == 3  # distinct events stay distinct


def test_change_domain_follows_its_kind() -> None:
    findings = change_findings(
        [_event("RevokeSecurityGroupIngress", id="sg"), _event("UpdateService", id="dep"), _event("DetachRolePolicy", id="iam")],
        reference=ONSET,
    )
    domains = {f.evidence.event_ids[0]: f.domain for f in findings}
    assert domains == {"sg": "network", "dep": "application", "iam": "infrastructure"}


def test_an_autoscalers_own_action_is_a_scaling_reaction_never_a_suspect() -> None:
    # ECS service auto scaling scales out through UpdateService: CloudTrail shows the
    # autoscaler as the actor. It reacts to load; a deploy through UpdateService does not.
    scale_out = _event("UpdateService", "ecs.amazonaws.com", minutes_before=0.5)
    scale_out.actor = "application-autoscaling.amazonaws.com"
    deploy = _event("UpdateService", "ecs.amazonaws.com", minutes_before=0.5, id="e2")
    deploy.actor = "arn:aws:sts::123456789012:assumed-role/deployer/ci"
    assert change_kind(scale_out) == "scaling"
    reaction, suspect = change_findings([scale_out, deploy], reference=ONSET)
    assert reaction.score == 0.0 and reaction.evidence.details.automatic is True
    assert suspect.score > 0.9 and suspect.evidence.details.automatic is False


def test_a_change_summary_states_its_time_not_a_distance_from_an_assumed_onset() -> None:
    # The reference passed in is a guess at the onset; which onset a change precedes is the
    # ranking's to say per candidate, so the summary gives the time itself.
    (finding,) = change_findings([_event("UpdateService", minutes_before=7.0)], reference=ONSET)
    assert f"at {(ONSET - timedelta(minutes=7)):%H:%M} UTC" in finding.summary
    assert "before the onset" not in finding.summary

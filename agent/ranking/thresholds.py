"""Every constant the ranking uses, each with the reason for its value.

Changing one moves rankings: compare `make eval` against the baseline (docs/evaluation.md)
and refit the calibration (agent/calibration.py) afterwards.
"""

from __future__ import annotations

from datetime import timedelta

# --- what counts -------------------------------------------------------------------------
# A finding at or above this score is an anomaly, below it an observation: the analyses map
# their statistic so that 0.5 is their significance level (z = 4, corrected p = ALPHA).
ANOMALOUS = 0.5
# A candidate must score this much to be proposed at all: the same midpoint, for a resource.
SUPPORTED = 0.5
# The finding kinds that show a resource misbehaving (changes and health events explain, not show).
SYMPTOM_KINDS = ("metric", "log", "trace")
# Hypotheses listed: what an engineer reads in the first minutes (and AC@5 measures).
MAX_HYPOTHESES = 5
# Strongest findings a hypothesis cites, and changes it cites besides.
CITED_SYMPTOMS = 6
CITED_CHANGES = 2
# Findings within this much of the strongest one count as "strongest" when dating an onset:
# scores saturate near 1, so a hard maximum would let one finding decide.
ONSET_SCORE_BAND = 0.1

# --- timing ------------------------------------------------------------------------------
# Onsets this close count as simultaneous when logs or spans date them: clocks, log batching
# and 1-minute metrics blur more.
ONSET_TOLERANCE = timedelta(minutes=2)
# A cause seen in metrics only may have begun one sampling period before its first abnormal
# point (the point before it was normal), plus this: collectors stamp their points on their own
# schedules (a scrape at :10, a CloudWatch minute at :00), half of the finest usual period apart.
METRIC_CLOCK_SLACK = timedelta(seconds=30)
# A candidate whose every symptom ended by itself, followed by at least RECOVERY_MARGIN and
# RECOVERY_POINTS normal points of its own data, with no health event and no change while it
# lasted (a rollback, a fix), looks like a transient blip as much as a fault.
RECOVERY_MARGIN = timedelta(minutes=5)
RECOVERY_POINTS = 3
# Sampling period assumed for a symptom that does not state its own (1-minute metrics are the default).
DEFAULT_PERIOD_S = 60

# --- scoring -----------------------------------------------------------------------------
# Request volume (load) counts half of a failure signal: more requests alone are not a fault.
TRAFFIC_WEIGHT = 0.5
# Credit a cause gets for an effect it moved no common metric with: timing fits, size unknown.
UNCOMPARABLE = 0.5
# The relative effect (candidates.relative_effect) of a doubling: a cause that moved less than
# that, relative to its own level, explains proportionally less of an effect whose own size is
# unknown (logs, traces). A doubling is where a shift is plainly a fault on any metric.
PLAIN_FAULT = 0.5
# What is left of a cause's share of an effect when every route between them passes a
# resource that had telemetry and showed no shift: half, as for magnitudes that cannot be
# compared. The healthy hop is evidence against the propagation, not proof: its telemetry may
# not cover the signal that travelled (a queue's depth, a CPU-only service).
BLOCKED_ROUTE = 0.5
# What is left of a dependency's share of an effect whose own demand rose clearly no later than
# its failure: half, as for a route through something seen healthy. The extra requests are an
# explanation of the effect's failure that needs no dependency (and they load its dependencies);
# the dependency may still have failed as well.
DEMAND_LED = 0.5
# How much being a victim discounts: a candidate whose dependency fully explains it keeps a
# fifth of its anomaly (it may still be a second fault), not none.
VICTIM_DISCOUNT = 0.8
# The score is anomaly x (half for being anomalous at all + half for explaining): of the
# explaining half, EXPLAIN_ALARM is for explaining the alarmed resource (what paged), the
# rest for explaining the other anomalous resources.
EXPLAIN_BASE = 0.5
EXPLAIN_ALARM = 0.25
# A change at the candidate's onset closes this share of the gap between its score and 1:
# a change is the most common cause, but alone it does not make a healthy resource the cause.
# Only for the candidate's own failure: the share is scaled down as its score is when a
# dependency accounts for it (VICTIM_DISCOUNT).
CHANGE_WEIGHT = 0.5

# --- confidence and abstention -----------------------------------------------------------
# The evidence score is the candidate's score times MARGIN_FLOOR + MARGIN_WEIGHT x
# min(1, margin / FULL_MARGIN): a rival within FULL_MARGIN of the top costs up to 40 % of it,
# a lead of 0.3 or more (a clear gap on a 0..1 score) costs nothing.
MARGIN_FLOOR = 0.6
MARGIN_WEIGHT = 0.4
FULL_MARGIN = 0.3
# Never claim certainty: an evidence score is at most this.
MAX_EVIDENCE_SCORE = 0.99
# The operating point for abstention: below this evidence score the top hypothesis is shown
# as a weak lead but the investigation says no root cause is supported (false alarms). With no
# recorded call graph a close rival does not count towards it (scoring.support).
ABSTAIN_BELOW = 0.4
# When the alarmed metric shows no sustained shift, a false alarm is as plausible as a fault
# the alarm metric barely saw (a one-point breach on 5-minute data looks the same for both):
# confidence is discounted by this factor (on top of the factor 0.5 + s for the alarmed
# metric's largest point, below): with 0.6 the candidate's score times its margin factor must
# reach 0.67 to be proposed. The value was chosen on the PetShop development split, where
# results are the same for 0.6 to 0.67 (0.5 abstained on three incidents whose root cause was
# the only anomaly, 0.75 answered a false alarm): an operating point picked on dev data, to be
# checked on held-out data.
ALARM_NORMAL_DISCOUNT = 0.6
# With a quiet alarm every candidate's score is multiplied by QUIET_ALARM_BASE + s, s the score
# of the alarmed metric's largest point: a metric that nearly shifted discounts less. The
# factor stays below 1 (QUIET_ALARM_MAX_FACTOR): a point that did not make a sustained shift
# never raises a candidate.
QUIET_ALARM_BASE = 0.5
QUIET_ALARM_MAX_FACTOR = 0.99
# A recovered candidate (see RECOVERY_MARGIN) has the same even-ish prior of being a blip as a
# quiet alarm has of being a false alarm, so the same discount, applied to its score (it also
# orders candidates: a resource that is still failing is likelier to keep the alarm firing).
RECOVERED_DISCOUNT = ALARM_NORMAL_DISCOUNT

# --- cause category ----------------------------------------------------------------------
# A change at least this close to the onset (proximity 0.25: two half-lives before it) makes
# the cause "change": closer than that, the change is the likeliest story.
CHANGE_CAUSE = 0.25
# Request volume rose "clearly" when its finding scores this much (z of about 6 or more).
CLEAR_DEMAND = 0.9
# A candidate is called a victim in the prose when its dependency accounts for this much.
VICTIM_PROSE = 0.25
# The strongest findings the cause category reads: enough to see a candidate's story, few
# enough that a tail of weak findings cannot outvote it.
CAUSE_FINDINGS = 6

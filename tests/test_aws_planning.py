"""GetMetricData planning, dimension -> resource mapping and statistic choice (pure code)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tools.aws.dimensions import resource_for_dimensions, resource_for_log
from tools.aws.periods import align, batches, choose_period
from tools.aws.statistics import default_stat
from tools.aws.usage import UsageMeter
from tools.emulator.scenario import seeded_dimensions

T0 = datetime(2024, 5, 14, 12, 0, tzinfo=timezone.utc)


def test_one_minute_points_until_a_day_then_the_next_standard_period():
    assert choose_period(T0, T0 + timedelta(minutes=75)) == 60
    assert choose_period(T0, T0 + timedelta(hours=24)) == 60  # exactly 1440 one-minute points
    # 25 h need 62.5 s per point to stay under 1440: the next standard period is 5 min.
    assert choose_period(T0, T0 + timedelta(hours=25)) == 300
    # 30 days = 43,200 min -> 30 min per point at least -> the 1 h period.
    assert choose_period(T0, T0 + timedelta(days=30)) == 3600


def test_align_rounds_to_period_multiples():
    moment = datetime(2024, 5, 14, 12, 3, 30, tzinfo=timezone.utc)
    assert align(moment, 60) == datetime(2024, 5, 14, 12, 3, tzinfo=timezone.utc)
    assert align(moment, 300, up=True) == datetime(2024, 5, 14, 12, 5, tzinfo=timezone.utc)


def test_batches_of_at_most_500_queries_keep_every_query_once():
    queries = list(range(1201))
    sizes = [len(b) for b in batches(queries)]
    assert sizes == [500, 500, 201]
    assert [q for b in batches(queries) for q in b] == queries


def test_dimension_value_naming_a_known_resource_wins():
    known = {"web-alb", "checkout"}
    assert resource_for_dimensions({"LoadBalancer": "app/web-alb/50dc6c495c0c9188"}, known) == "web-alb"
    # Two dimensions name known resources: the first by dimension name decides, stably.
    assert resource_for_dimensions({"TargetGroup": "targetgroup/checkout/1", "LoadBalancer": "app/web-alb/2"}, known) == "web-alb"


def test_location_dimensions_slice_a_resource_they_do_not_name_it():
    known = {"cart", "eu-west-1a"}
    assert resource_for_dimensions({"AvailabilityZone": "eu-west-1a", "Service": "cart"}, known) == "cart"
    assert resource_for_dimensions({"AvailabilityZone": "eu-west-1a", "LoadBalancer": "app/shop/1"}, set()) == "app/shop/1"
    # Alone, a zone is what the metric is about.
    assert resource_for_dimensions({"AvailabilityZone": "eu-west-1a"}, known) == "eu-west-1a"
    # Seeding keeps the zone slices apart.
    seeded = seeded_dimensions("cart", "Latency", "p99", '{"AvailabilityZone": "eu-west-1a", "Service": "cart"}', known)
    assert seeded == {"AvailabilityZone": "eu-west-1a", "Service": "cart", "Statistic": "p99"}


def test_unknown_dimensions_single_value_or_joined_names():
    assert resource_for_dimensions({"FunctionName": "resize"}, set()) == "resize"
    assert resource_for_dimensions({"ServiceName": "web", "ClusterName": "prod"}, set()) == "ClusterName=prod,ServiceName=web"
    assert resource_for_dimensions({}, {"x"}) is None
    # The emulator's Statistic dimension is not part of a metric's identity.
    assert resource_for_dimensions({"Resource": "db", "Statistic": "p99"}, set()) == "db"


def test_log_stream_then_group_then_last_group_part():
    known = {"checkout", "catalog"}
    assert resource_for_log("/ecs/shop", "catalog/app/abc", known) == "catalog"
    assert resource_for_log("/ecs/shop/checkout", "app/abc", known) == "checkout"
    assert resource_for_log("/aws/lambda/resize", "2024/05/14/[$LATEST]abc", known) == "resize"


def test_counters_are_summed_everything_else_averaged():
    assert default_stat("HTTPCode_Target_5XX_Count") == "Sum"
    assert default_stat("Errors") == "Sum"
    assert default_stat("Invocations") == "Sum"
    assert default_stat("TargetResponseTime") == "Average"
    assert default_stat("CPUUtilization") == "Average"


def test_seeded_dimensions_read_back_as_the_same_resource_and_stat():
    known = {"web-alb", "checkout"}
    alb = seeded_dimensions("web-alb", "RequestCount", "Sum", '{"LoadBalancer": "app/web-alb/1"}', known)
    assert alb == {"LoadBalancer": "app/web-alb/1"}  # already names the resource, Sum is the default for a count
    bare = seeded_dimensions("checkout", "Latency", "p99", "{}", known)
    assert bare == {"Resource": "checkout", "Statistic": "p99"}
    assert resource_for_dimensions(bare, known) == "checkout"
    # Dimensions that name another resource get the Resource dimension that names the right one.
    moved = seeded_dimensions("checkout", "CPUUtilization", "Average", '{"Cluster": "web-alb"}', known)
    assert resource_for_dimensions(moved, known) == "checkout"


def test_usage_prices_metrics_and_insights_bytes():
    meter = UsageMeter()
    meter.count_call("cloudwatch", "GetMetricData")
    meter.count_call("cloudwatch", "GetMetricData")
    meter.count_metrics(2500)  # 2.5 thousand metrics at $0.01 per thousand
    meter.count_scanned(2e9)  # 2 GB at $0.005 per GB
    usage = meter.snapshot()
    assert usage.calls == {"cloudwatch:GetMetricData": 2}
    assert usage.estimated_usd == 0.025 + 0.01


def test_windows_around_the_alarm_are_capped_at_now():
    from tools.aws.alarm import windows_for

    change = datetime(2024, 5, 14, 14, 5, tzinfo=timezone.utc)
    window, baseline = windows_for(change, now=change + timedelta(hours=2))
    assert (window.start, window.end) == (change - timedelta(minutes=15), change + timedelta(minutes=15))
    assert (baseline.start, baseline.end) == (change - timedelta(minutes=195), change - timedelta(minutes=15))
    # Paged 4 minutes after the alarm: the window stops at now, it does not reach into the future.
    window, _ = windows_for(change, now=change + timedelta(minutes=4))
    assert window.end == change + timedelta(minutes=4)

"""Live AWS: a boto3-backed TelemetrySource, alarm resolution, recording (docs/live-aws.md)."""

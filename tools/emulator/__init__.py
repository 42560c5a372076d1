"""The local AWS incident emulator: moto behind a thin layer, seeded from a bundle (docs/live-aws.md)."""

"""Benchmarks of the sidecar; run ``python -m benchmarks`` (see benchmarks/README.md)."""

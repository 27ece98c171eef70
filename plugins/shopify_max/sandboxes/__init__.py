"""Sandboxes: a Shopify emulator and the reference Exact MAX gateway, for the demo, tests and benchmarks."""

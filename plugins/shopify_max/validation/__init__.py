"""Batch-level field checks with Great Expectations (imported inside tasks only: it takes seconds to load)."""

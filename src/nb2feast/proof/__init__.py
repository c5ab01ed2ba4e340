"""Proof that Feast serves what the notebook computes: verify, sampling, comparing,
time travel, freshness, the report."""

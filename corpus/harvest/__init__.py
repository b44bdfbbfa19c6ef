"""Harvest pipeline: plan queries, download, verify, hash, dedup, store, resume."""

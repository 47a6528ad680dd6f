"""The batched (seeds x models) training engine and its metrics."""

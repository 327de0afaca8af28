"""Losses and metrics for sequence models."""

"""The /api/v1/suggestions HTTP API."""

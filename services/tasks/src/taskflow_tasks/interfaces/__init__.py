"""Driving adapters: the HTTP API."""

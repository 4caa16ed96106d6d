"""Helpers for scripts/stack: the local TaskFlow stack on 127.0.0.1 (stdlib only)."""

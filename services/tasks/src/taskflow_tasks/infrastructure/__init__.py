"""Adapters: the database (Postgres or SQLite), the outbox relay and the reminder scheduler."""

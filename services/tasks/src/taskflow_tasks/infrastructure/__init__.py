"""Adapters: the database (Postgres on asyncpg), the outbox relay and the reminder scheduler."""

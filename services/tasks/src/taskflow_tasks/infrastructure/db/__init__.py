"""Persistence: tables, repositories, the unit of work with its outbox, read queries."""

"""Adapters: the LLM provider (with breaker and cache), SQL storage, the tasks API client."""

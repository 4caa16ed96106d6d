"""A local OpenAI-compatible server that replays recorded chat completions (tests only)."""

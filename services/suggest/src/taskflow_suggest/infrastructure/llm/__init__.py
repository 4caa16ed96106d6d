"""The PriorityModel adapters: an OpenAI-compatible provider, a circuit breaker, a cache."""

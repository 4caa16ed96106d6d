"""TaskFlow's front door: identity API, JWT at the edge, rate limits, proxy, one OpenAPI."""

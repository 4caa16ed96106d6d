"""TaskFlow's notification service: WebSocket push, email and webhooks, nothing lost."""

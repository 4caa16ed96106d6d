"""SQL storage of suggestions and feedback: the `suggest` schema on PostgreSQL."""

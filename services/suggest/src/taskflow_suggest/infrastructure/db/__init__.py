"""SQL storage of suggestions and feedback: the `suggest` schema on Postgres, SQLite embedded."""

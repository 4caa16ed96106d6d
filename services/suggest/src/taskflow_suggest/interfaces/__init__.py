"""Ways in: HTTP (FastAPI) and the bus (task events)."""

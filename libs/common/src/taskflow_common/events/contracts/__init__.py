"""Event data models, one module per producer."""

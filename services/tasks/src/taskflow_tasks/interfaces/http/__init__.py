"""The FastAPI application: schemas, dependencies, error mapping and routes."""

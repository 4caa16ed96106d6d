"""Adapters for notify's ports; bootstrap.py chooses among them."""

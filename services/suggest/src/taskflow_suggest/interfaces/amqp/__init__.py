"""Task events in, suggestions out."""

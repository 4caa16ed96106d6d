"""taskflow_embedded."""

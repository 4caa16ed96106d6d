"""taskflow_admin."""

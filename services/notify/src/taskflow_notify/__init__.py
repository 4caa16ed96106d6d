"""taskflow_notify."""

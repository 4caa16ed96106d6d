"""taskflow_suggest."""

"""taskflow_tasks."""

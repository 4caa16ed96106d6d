"""The task domain: pure Python, no I/O, no frameworks."""

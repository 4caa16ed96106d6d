"""Django settings, built from NotifySettings: `base` (every process) and `test`."""

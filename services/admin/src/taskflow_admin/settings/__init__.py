"""Django settings, built from AdminSettings: `base` and `test`."""

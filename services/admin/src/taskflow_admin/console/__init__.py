"""The console's pages inside the Django admin site: users, tasks, the dashboard."""

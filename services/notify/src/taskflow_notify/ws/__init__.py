"""The WebSocket side: /ws/notifications (Channels)."""

"""TaskFlow in one process (the embedded mode): every service behind the gateway."""

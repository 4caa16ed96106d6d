"""The AMQP side: notify's event consumer."""

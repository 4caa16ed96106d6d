"""TaskFlow's shared plumbing.

The core (settings, problems, auth, events, health) is framework-free; the glue for FastAPI
(`taskflow_common.web`), AMQP (`taskflow_common.messaging.amqp`) and Redis lives behind extras.
"""

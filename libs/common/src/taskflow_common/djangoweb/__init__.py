"""Django + DRF glue (the django extra): problem+json errors, JWT authentication, ops views.

The Django counterpart of `taskflow_common.web` (FastAPI). Import the submodules directly:
`registry` (importable before Django is set up), `auth`, `errors`, `ops` (need settings).
A composition root installs the verifier and readiness checks once per process
(`registry.install`); Django allows one settings module per process, so there is exactly one
such registry per process, shared by every Django app in it.
"""

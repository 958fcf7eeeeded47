"""Chorus Pro-compatible API: ``/api/oauth/token`` and ``/cpro/**`` over the services' gRPC."""

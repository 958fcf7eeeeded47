"""Chorus gateway: the REST API ``/api/v1`` and the web portal over the gRPC services."""

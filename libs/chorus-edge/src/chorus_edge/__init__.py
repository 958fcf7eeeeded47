"""What the REST API (:mod:`chorus_gateway.api`) and the portal (:mod:`chorus_portal.web`)
share at the HTTP edge, below both and above the service clients:

- :mod:`~chorus_edge.problems`: gRPC status → RFC 9457 problem (the one translation),
- :mod:`~chorus_edge.callers`: the caller's details, the session and CSRF cookies,
- :mod:`~chorus_edge.uploads` and :mod:`~chorus_edge.attachment_staging`:
  uploaded files read bounded, attachments staged one by one,
- :mod:`~chorus_edge.enums` and :mod:`~chorus_edge.conversions`: protobuf
  enums and scalars as REST names them,
- :mod:`~chorus_edge.accounts`, :mod:`~chorus_edge.structures`,
  :mod:`~chorus_edge.invoices`: per service, the enum tables and the request bodies
  both fronts send, mapped to the services' requests.

No route is defined here, and nothing here imports ``api`` or ``web``.
"""

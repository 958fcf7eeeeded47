"""The access-token contract every service shares: who signs them and for whom.

identity's domain signs tokens with these claims and :mod:`chorus_platform.auth` verifies
them; this module holds only the constants, so a pure domain can use them without pulling in
gRPC.
"""

ISSUER = "chorus-identity"
"""The ``iss`` claim of every access token."""

AUDIENCE = "chorus"
"""The ``aud`` claim of every access token."""

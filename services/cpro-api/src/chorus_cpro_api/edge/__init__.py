"""What the routes share and no route holds: the envelope and its refusals, request bodies,
credentials, rate limits, formats, reference data."""

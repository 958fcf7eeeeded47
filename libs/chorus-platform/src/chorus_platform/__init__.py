"""Chorus shared infrastructure: no domain logic lives here."""

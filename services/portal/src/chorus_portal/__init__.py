"""Chorus web portal: the French server-rendered pages, a backend-for-frontend calling the
services over gRPC (:mod:`chorus_portal.web`), with its own process, probes and settings."""

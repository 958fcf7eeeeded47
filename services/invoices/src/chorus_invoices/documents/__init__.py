"""Structured invoice documents: safe XML, formats, EN 16931 validation, data mapping, Factur-X."""

"""Links into the web portal: paths for the feed, absolute URLs for e-mails."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def absolute(portal_url: str, path: str) -> str:
    """``"http://portal/"``, ``"/factures/1"`` → ``"http://portal/factures/1"``."""
    return portal_url.rstrip("/") + path


def activation_url(portal_url: str, token: str) -> str:
    """The page where the user activates the account with ``token``."""
    return absolute(portal_url, "/activation?" + urlencode({"token": token}))


INVOICES_PATH = "/factures"
"""The portal's list of the user's invoices."""


def invoice_path(invoice_id: str) -> str:
    return "/factures/" + quote(invoice_id, safe="")


def structure_path(structure_id: str) -> str:
    return "/structures/" + quote(structure_id, safe="")


def password_reset_url(portal_url: str, token: str) -> str:
    """The page where the user sets a new password with ``token`` (and the secret answer)."""
    return absolute(portal_url, "/mot-de-passe/reinitialisation?" + urlencode({"token": token}))


def email_verification_url(portal_url: str, token: str) -> str:
    """The page confirming a new contact or login e-mail address with ``token``."""
    return absolute(portal_url, "/mon-compte/adresse?" + urlencode({"token": token}))


def technical_accounts_path(structure_id: str) -> str:
    """The portal page of a structure's technical accounts (managers)."""
    return structure_path(structure_id) + "/comptes-techniques"


def sollicitation_path(sollicitation_id: str) -> str:
    """The portal page of one sollicitation (its thread)."""
    return "/sollicitations/" + quote(sollicitation_id, safe="")

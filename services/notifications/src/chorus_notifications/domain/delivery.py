"""E-mail delivery rules: when to try again after a failure, when to give up, and how an
e-mail is named to mail servers (its Message-ID, the same on every attempt)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chorus_notifications.domain.sealed_secrets import SealedSecret, reveal


class PermanentDeliveryError(Exception):
    """The e-mail can never be delivered as it is: retrying would only repeat the failure
    (an address the message cannot carry, a relay answering 5xx for it). Raised by a mailer;
    the e-mail is marked FAILED at once."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base``, ``2 * base``, ``4 * base``... capped at ``cap``."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay_after(self, attempts: int) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts, or None to give up (FAILED)."""
        if attempts >= self.max_attempts:
            return None
        return min(self.base_seconds * 2 ** (attempts - 1), self.cap_seconds)


def message_id_for(email_id: str, domain: str) -> str:
    """``<email id@domain>``: derived from the e-mail's id only, so every attempt to send one
    e-mail carries the same Message-ID and a mail system can tell a resend from a new mail."""
    return f"<{email_id}@{domain or 'chorus.localhost'}>"


@dataclass(frozen=True)
class OutgoingEmail:
    """One queued e-mail as the sender sees it."""

    id: str
    kind: str
    recipient_address: str
    subject: str
    text_body: str
    html_body: str
    attempts: int
    sealed: SealedSecret | None = None
    """The link token the bodies' placeholder stands for, still sealed."""
    message_id: str = ""
    """Fixed at the e-mail's first claim (:func:`message_id_for`); "" for one never claimed."""

    def with_secret(self, secret: str) -> OutgoingEmail:
        """The e-mail ready to send: placeholder replaced by the opened secret."""
        return replace(
            self,
            text_body=reveal(self.text_body, secret),
            html_body=reveal(self.html_body, secret),
            sealed=None,
        )

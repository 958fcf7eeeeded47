"""The connection options of every aiokafka client Chorus builds (producers, consumers, admin).

One function, :func:`client_options`, turns the ``CHORUS_KAFKA_*`` settings into aiokafka's
keyword arguments, so that a producer, a consumer and the admin client of one process always
reach the same brokers the same way, and no other code spells out ``bootstrap_servers`` or a
security option::

    AIOKafkaProducer(**client_options(settings), acks="all", ...)

* ``PLAINTEXT``: the bootstrap servers only (the embedded broker, a private network).
* ``SSL``: TLS, the brokers' certificates checked against ``CHORUS_KAFKA_SSL_CAFILE`` (the
  system's CAs when empty) and their host names; with a certificate and key, mutual TLS.
* ``SASL_PLAINTEXT`` / ``SASL_SSL``: SASL (``SCRAM-SHA-512`` by default) with the user name
  and password, the latter over TLS as above.

The settings class refuses combinations that cannot work (SASL without credentials,
certificates without TLS, ...). The SSL context is built at each call, so a client created
after a certificate was renewed reads the new files. The password is read from its
``SecretStr`` here only, into the options, and is never logged.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from chorus_platform.settings import ChorusSettings


class KafkaTlsError(ValueError):
    """The TLS files named by the settings cannot be loaded."""


def _no_key_password() -> str:
    # Without a callable, OpenSSL would prompt on the terminal for an encrypted key's password.
    raise KafkaTlsError("CHORUS_KAFKA_SSL_KEYFILE is encrypted; give an unencrypted key file")


def ssl_context(settings: ChorusSettings) -> ssl.SSLContext:
    """The client TLS context of the settings: verifies the broker (CA file or system CAs, host
    name checked) and presents the client certificate when one is configured."""
    try:
        return create_ssl_context(
            cafile=settings.kafka_ssl_cafile or None,
            certfile=settings.kafka_ssl_certfile or None,
            keyfile=settings.kafka_ssl_keyfile or None,
            password=_no_key_password,
        )
    except KafkaTlsError:
        raise
    except (OSError, ssl.SSLError) as exc:
        raise KafkaTlsError(
            "cannot load the Kafka TLS files (CHORUS_KAFKA_SSL_CAFILE "
            f"{settings.kafka_ssl_cafile!r}, _CERTFILE {settings.kafka_ssl_certfile!r}, "
            f"_KEYFILE {settings.kafka_ssl_keyfile!r}): {exc}"
        ) from exc


def client_options(settings: ChorusSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for reaching the brokers: ``bootstrap_servers``,
    ``security_protocol`` and, as the protocol needs them, ``ssl_context``, ``sasl_mechanism``,
    ``sasl_plain_username`` and ``sasl_plain_password`` (aiokafka's names, SCRAM included)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options

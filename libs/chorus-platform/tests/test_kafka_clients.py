"""Every Kafka client connects through client_options: each protocol gets what it needs, TLS
files really load, and settings that cannot work together are refused with a clear error."""

from __future__ import annotations

import datetime
import logging
import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from chorus_platform.kafka_clients import KafkaTlsError, client_options
from chorus_platform.settings import ChorusSettings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, Path]:
    """A CA, and a client certificate and key it signed, as PEM files."""
    directory = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Chorus test CA", ca_key, "Chorus test CA", ca_key, ca=True)
    client = _certificate("chorus-invoices", client_key, "Chorus test CA", ca_key, ca=False)
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "client.pem",
        "key": directory / "client.key",
        "encrypted_key": directory / "client-encrypted.key",
    }
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(client.public_bytes(serialization.Encoding.PEM))
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    files["key"].write_bytes(client_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    files["encrypted_key"].write_bytes(
        client_key.private_bytes(pem, pkcs8, serialization.BestAvailableEncryption(b"pw"))
    )
    return files


def settings(**values) -> ChorusSettings:
    return ChorusSettings(kafka_bootstrap="broker-1:9093,broker-2:9093", **values)


def test_plaintext_is_the_bootstrap_servers_only():
    assert client_options(settings()) == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "security_protocol": "PLAINTEXT",
    }


def test_ssl_verifies_the_brokers_against_the_ca_and_presents_the_client_certificate(tls_files):
    options = client_options(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=str(tls_files["ca"]),
            kafka_ssl_certfile=str(tls_files["cert"]),
            kafka_ssl_keyfile=str(tls_files["key"]),
        )
    )

    assert options["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in options
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    [ca] = context.get_ca_certs()
    assert ca["subject"] == ((("commonName", "Chorus test CA"),),)


def test_ssl_without_a_ca_file_trusts_the_system_cas():
    context = client_options(settings(kafka_security_protocol="SSL"))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_sasl_plaintext_gives_the_mechanism_and_credentials(mechanism):
    options = client_options(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="chorus-invoices",
            kafka_sasl_password="s3cret-pw",
        )
    )
    assert options == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "chorus-invoices",
        "sasl_plain_password": "s3cret-pw",
    }


async def test_sasl_ssl_gives_both_and_the_options_build_a_client(tls_files):
    options = client_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="chorus-invoices",
            kafka_sasl_password="s3cret-pw",
            kafka_ssl_cafile=str(tls_files["ca"]),
        )
    )
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    producer = AIOKafkaProducer(**options, acks="all")  # aiokafka accepts every option
    assert producer.client._security_protocol == "SASL_SSL"
    assert producer.client._sasl_mechanism == "SCRAM-SHA-512"


def test_the_password_never_shows_in_the_settings_repr_or_logs(caplog):
    with caplog.at_level(logging.DEBUG):
        configured = settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username="chorus-invoices",
            kafka_sasl_password="s3cret-pw",
        )
        client_options(configured)
        logging.getLogger("test").info("settings: %s %r", configured, configured)
    assert "s3cret-pw" not in repr(configured) and "s3cret-pw" not in str(configured)
    assert "s3cret-pw" not in caplog.text
    assert "s3cret-pw" not in configured.model_dump_json()


def test_tls_files_that_do_not_load_are_a_clear_error(tls_files, tmp_path):
    missing = settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(tmp_path / "none.pem"))
    with pytest.raises(KafkaTlsError, match="CHORUS_KAFKA_SSL_CAFILE"):
        client_options(missing)
    encrypted = settings(
        kafka_security_protocol="SSL",
        kafka_ssl_certfile=str(tls_files["cert"]),
        kafka_ssl_keyfile=str(tls_files["encrypted_key"]),
    )
    with pytest.raises(KafkaTlsError, match="encrypted"):  # never a password prompt
        client_options(encrypted)
    mismatched = settings(
        kafka_security_protocol="SSL",
        kafka_ssl_certfile=str(tls_files["ca"]),  # not the key's certificate
        kafka_ssl_keyfile=str(tls_files["key"]),
    )
    with pytest.raises(KafkaTlsError, match="cannot load"):
        client_options(mismatched)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs CHORUS_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "needs CHORUS_KAFKA_SASL_USERNAME and CHORUS_KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "does not use SASL"),
        ({"kafka_ssl_cafile": "/etc/ca.pem"}, "CHORUS_KAFKA_SSL_CAFILE set but"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_certfile": "/etc/c.pem"},
            "CHORUS_KAFKA_SSL_CERTFILE and CHORUS_KAFKA_SSL_KEYFILE go together",
        ),
        (
            {"kafka_replication_factor": 3, "kafka_min_insync_replicas": 4},
            "MIN_INSYNC_REPLICAS \\(4\\) exceeds CHORUS_KAFKA_REPLICATION_FACTOR \\(3\\)",
        ),
        (
            {
                "env": "prod",
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "p",
            },
            "sends the password in clear",
        ),
        ({"kafka_security_protocol": "TLS"}, "PLAINTEXT"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "SCRAM-SHA-512"),
        ({"kafka_partitions": 0}, "greater than or equal to 1"),
    ],
)
def test_settings_that_cannot_work_are_refused(values, message):
    with pytest.raises(ValidationError, match=message):
        settings(**values)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHORUS_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CHORUS_KAFKA_SASL_USERNAME", "chorus-identity")
    monkeypatch.setenv("CHORUS_KAFKA_SASL_PASSWORD", "from-a-secret")
    monkeypatch.setenv("CHORUS_KAFKA_PARTITIONS", "6")
    monkeypatch.setenv("CHORUS_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("CHORUS_KAFKA_MIN_INSYNC_REPLICAS", "2")
    configured = ChorusSettings()
    assert (configured.kafka_partitions, configured.kafka_replication_factor) == (6, 3)
    assert configured.kafka_min_insync_replicas == 2
    assert client_options(configured)["sasl_plain_password"] == "from-a-secret"

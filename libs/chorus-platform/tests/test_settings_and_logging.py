import json
import logging

from chorus_platform.logging import JsonFormatter
from chorus_platform.settings import ChorusSettings, with_database


def test_database_dsn_replaces_the_database_part(monkeypatch):
    monkeypatch.setenv("CHORUS_DATABASE_URL", "postgresql://u:p@db:5432/postgres?sslmode=require")
    settings = ChorusSettings(service_name="invoices")
    assert settings.database_dsn == "postgresql://u:p@db:5432/chorus_invoices?sslmode=require"
    assert with_database("postgresql://h/x", "y") == "postgresql://h/y"


def test_environment_variables_use_the_chorus_prefix(monkeypatch):
    monkeypatch.setenv("CHORUS_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("CHORUS_KAFKA_IDEMPOTENCE", "true")
    settings = ChorusSettings()
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.kafka_idempotence is True


def test_log_lines_are_json_and_mask_secret_fields():
    record = logging.makeLogRecord(
        {
            "name": "t",
            "levelname": "INFO",
            "msg": "login for %s",
            "args": ("a@b.fr",),
            "password": "hunter2-Secret!",
            "refresh_token": "abc",
            "user_id": "u1",
        }
    )
    line = JsonFormatter("identity").format(record)
    entry = json.loads(line)
    assert entry["msg"] == "login for a@b.fr"
    assert entry["service"] == "identity"
    assert entry["user_id"] == "u1"
    assert entry["password"] == "***"
    assert entry["refresh_token"] == "***"
    assert "hunter2" not in line

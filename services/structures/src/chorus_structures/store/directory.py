"""Bulk import of the public-recipient directory: COPY into a staging table, then set-based
inserts and updates of structures and their services (their spaces keep their kind's
defaults, which are not stored).

Idempotent: importing the same rows again changes nothing. Only structures the directory owns
(no creator, public) are updated; a structure a user created with the same SIRET is left as
it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from uuid import uuid4

import asyncpg

from chorus_structures.domain.directory import DirectoryRow

_STAGING_COLUMNS = (
    "siret",
    "raison_sociale",
    "libelle",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "email",
    "service_code_required",
    "engagement_required",
    "service_or_engagement_required",
    "payment_status_not_reported",
    "active",
    "structure_id",
)
_SERVICE_COLUMNS = ("siret", "code", "name", "active", "engagement_required")

_CREATE_STAGING = """
CREATE TEMP TABLE directory_staging (
    siret                          text PRIMARY KEY,
    raison_sociale                 text NOT NULL,
    libelle                        text NOT NULL,
    address_line1                  text NOT NULL,
    address_line2                  text NOT NULL,
    postal_code                    text NOT NULL,
    city                           text NOT NULL,
    country                        text NOT NULL,
    email                          text NOT NULL,
    service_code_required          boolean NOT NULL,
    engagement_required            boolean NOT NULL,
    service_or_engagement_required boolean NOT NULL,
    payment_status_not_reported    boolean NOT NULL,
    active                         boolean NOT NULL,
    -- A fresh id, replaced by the existing structure's when the SIRET is known.
    structure_id                   uuid NOT NULL,
    is_new                         boolean NOT NULL DEFAULT true
) ON COMMIT DROP;
CREATE TEMP TABLE directory_service_rows (
    siret               text NOT NULL,
    code                text NOT NULL,
    name                text NOT NULL,
    active              boolean NOT NULL,
    engagement_required boolean NOT NULL
) ON COMMIT DROP;
"""

# Plain INSERTs and UPDATEs rather than INSERT ... ON CONFLICT: the rows are first matched to
# the structures they are (an index join), so new rows go in without speculative insertion
# and unchanged rows are not touched at all.
_MATCH_EXISTING = """
UPDATE directory_staging d SET structure_id = s.id, is_new = false
  FROM structures s
 WHERE s.identifier_type = 'SIRET' AND s.identifier = d.siret
"""

_SKIP_STRUCTURES_OF_USERS = """
DELETE FROM directory_staging d USING structures s
 WHERE s.id = d.structure_id AND (s.created_by IS NOT NULL OR s.kind <> 'PUBLIQUE')
"""

_INSERT_STRUCTURES = """
INSERT INTO structures (
    id, identifier_type, identifier, raison_sociale, libelle, kind, status,
    address_line1, address_line2, postal_code, city, country, email,
    service_code_required, engagement_required, service_or_engagement_required,
    payment_status_not_reported)
SELECT d.structure_id, 'SIRET', d.siret, d.raison_sociale, d.libelle, 'PUBLIQUE',
       CASE WHEN d.active THEN 'ACTIVE' ELSE 'INACTIVE' END,
       d.address_line1, d.address_line2, d.postal_code, d.city, d.country, d.email,
       d.service_code_required, d.engagement_required, d.service_or_engagement_required,
       d.payment_status_not_reported
  FROM directory_staging d
 WHERE d.is_new
"""

_UPDATE_STRUCTURES = """
UPDATE structures s SET
    raison_sociale = d.raison_sociale,
    libelle = d.libelle,
    status = CASE WHEN d.active THEN 'ACTIVE' ELSE 'INACTIVE' END,
    address_line1 = d.address_line1,
    address_line2 = d.address_line2,
    postal_code = d.postal_code,
    city = d.city,
    country = d.country,
    email = d.email,
    service_code_required = d.service_code_required,
    engagement_required = d.engagement_required,
    service_or_engagement_required = d.service_or_engagement_required,
    payment_status_not_reported = d.payment_status_not_reported,
    updated_at = now()
  FROM directory_staging d
 WHERE s.id = d.structure_id AND NOT d.is_new
   AND (s.raison_sociale, s.libelle, s.status, s.address_line1, s.address_line2,
        s.postal_code, s.city, s.country, s.email, s.service_code_required,
        s.engagement_required, s.service_or_engagement_required, s.payment_status_not_reported)
       IS DISTINCT FROM
       (d.raison_sociale, d.libelle, CASE WHEN d.active THEN 'ACTIVE' ELSE 'INACTIVE' END,
        d.address_line1, d.address_line2, d.postal_code, d.city, d.country, d.email,
        d.service_code_required, d.engagement_required, d.service_or_engagement_required,
        d.payment_status_not_reported)
"""

_STAGE_SERVICES = """
CREATE TEMP TABLE directory_services ON COMMIT DROP AS
SELECT d.structure_id, d.is_new, r.code, r.name, r.active, r.engagement_required
  FROM directory_service_rows r JOIN directory_staging d USING (siret)
"""

_INSERT_SERVICES = """
INSERT INTO structure_services (id, structure_id, code, name, active, engagement_required)
SELECT gen_random_uuid(), ds.structure_id, ds.code, ds.name, ds.active, ds.engagement_required
  FROM directory_services ds
 WHERE ds.is_new
    OR NOT EXISTS (SELECT 1 FROM structure_services sv
                    WHERE sv.structure_id = ds.structure_id AND sv.code = ds.code)
"""

_UPDATE_SERVICES = """
UPDATE structure_services sv SET
    name = ds.name, active = ds.active, engagement_required = ds.engagement_required
  FROM directory_services ds
 WHERE NOT ds.is_new AND sv.structure_id = ds.structure_id AND sv.code = ds.code
   AND (sv.name, sv.active, sv.engagement_required)
       IS DISTINCT FROM (ds.name, ds.active, ds.engagement_required)
"""


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int
    services: int


def _record(row: DirectoryRow) -> tuple:
    return (
        row.siret,
        row.raison_sociale,
        row.libelle,
        row.address_line1,
        row.address_line2,
        row.postal_code,
        row.city,
        row.country,
        row.email,
        row.service_code_required,
        row.engagement_required,
        row.service_or_engagement_required,
        row.payment_status_not_reported,
        row.active,
        uuid4(),
    )


def _service_records(rows: Sequence[DirectoryRow]) -> Iterator[tuple]:
    for row in rows:
        for service in row.services:
            yield (
                row.siret,
                service.code,
                service.name,
                service.active,
                service.engagement_required,
            )


def _count(status: str) -> int:
    """The row count of a command status such as ``INSERT 0 42``."""
    return int(status.rsplit(" ", 1)[-1])


async def import_rows(conn: asyncpg.Connection, rows: Sequence[DirectoryRow]) -> ImportCounts:
    """Upserts ``rows`` (distinct SIRETs) in the caller's transaction."""
    await conn.execute(_CREATE_STAGING)
    await conn.copy_records_to_table(
        "directory_staging", records=(_record(r) for r in rows), columns=_STAGING_COLUMNS
    )
    await conn.copy_records_to_table(
        "directory_service_rows", records=_service_records(rows), columns=_SERVICE_COLUMNS
    )
    await conn.execute("ANALYZE directory_staging")
    await conn.execute(_MATCH_EXISTING)
    await conn.execute(_SKIP_STRUCTURES_OF_USERS)
    created = _count(await conn.execute(_INSERT_STRUCTURES))
    updated = _count(await conn.execute(_UPDATE_STRUCTURES))
    await conn.execute(_STAGE_SERVICES)
    await conn.execute("ANALYZE directory_services")
    services = _count(await conn.execute(_INSERT_SERVICES))
    services += _count(await conn.execute(_UPDATE_SERVICES))
    return ImportCounts(created=created, updated=updated, services=services)

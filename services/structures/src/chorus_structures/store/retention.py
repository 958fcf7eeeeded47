"""What ``chorus-structures purge-records`` deletes: only the platform's technical tables
(published outbox rows, inbox rows, idempotency keys, replayed dead letters; see
chorus_platform.retention). Everything else structures keeps is a business record or its
history (structures, services, memberships, subscriptions, attachment requests, managers'
actions, the directory) and is never purged."""

from __future__ import annotations

from chorus_platform.retention import PurgeRule, platform_rules

from chorus_structures.config import StructuresSettings


def purge_rules(settings: StructuresSettings) -> list[PurgeRule]:
    return platform_rules(settings)

"""Structure members as notifications knows them (projected from structures' events), and
who among them is told of an invoice."""

from __future__ import annotations

from dataclasses import dataclass

PRINCIPAL_MANAGER = "GESTIONNAIRE_PRINCIPAL"
SECONDARY_MANAGER = "GESTIONNAIRE_SECONDAIRE"
MANAGER_ROLES = (PRINCIPAL_MANAGER, SECONDARY_MANAGER)


@dataclass(frozen=True)
class Member:
    user_id: str
    role: str
    service_ids: tuple[str, ...]
    service_codes: tuple[str, ...] = ()

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES

    def may_see_service(self, service_code: str) -> bool:
        """Whether invoices addressed to ``service_code`` ("" for none) are this member's:
        a member limited to some services sees only theirs (case-insensitive). When the
        codes of the member's services are not known (projected before codes were carried),
        the member is not told: better a missed notice than an invoice of another service
        shown to them (their next membership event brings the codes)."""
        if not self.service_ids:
            return True
        return service_code.casefold() in {code.casefold() for code in self.service_codes}

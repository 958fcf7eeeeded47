"""French words for what StructuresService answers in codes (roles, identifier types,
spaces, access modes, request statuses, routing parameters), and the address fields the forms
share with the service.
"""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_edge.structures import ACCESS_MODE, ROLE, SPACE

ROLE_LABELS = {
    "GESTIONNAIRE_PRINCIPAL": "Gestionnaire principal",
    "GESTIONNAIRE_SECONDAIRE": "Gestionnaire secondaire",
    "UTILISATEUR": "Utilisateur",
}

# Roles a manager may grant (the principal role is only transferred).
GRANTABLE_ROLES = {k: v for k, v in ROLE_LABELS.items() if k != "GESTIONNAIRE_PRINCIPAL"}

MANAGER_ROLES = ("GESTIONNAIRE_PRINCIPAL", "GESTIONNAIRE_SECONDAIRE")

IDENTIFIER_TYPE_LABELS = {
    "SIRET": "SIRET",
    "UE_HORS_FRANCE": "TVA intracommunautaire (UE hors France)",
    "HORS_UE": "Hors Union européenne",
    "RIDET": "RIDET (Nouvelle-Calédonie)",
    "TAHITI": "TAHITI (Polynésie française)",
    "PARTICULIER": "Particulier",
    "AUTRE": "Autre",
}

SPACE_LABELS = {
    "FACTURES_EMISES": "Factures émises",
    "FACTURES_RECUES": "Factures reçues",
    "SOLLICITATIONS_EMISES": "Sollicitations émises",
    "SOLLICITATIONS_RECUES": "Sollicitations reçues",
    "ACTIVITES_GESTIONNAIRE": "Activités du gestionnaire",
    "MON_COMPTE": "Mon compte",
    "ENGAGEMENTS": "Engagements",
    "FACTURES_TRAVAUX": "Factures de travaux",
    "FACTURES_A_VALIDER": "Factures à valider",
    "SUIVI_FLUX": "Suivi des flux",
    "MEMOIRES_FRAIS_JUSTICE": "Mémoires de frais de justice",
    "REMBOURSEMENT_TIC": "Remboursement TIC",
}

MODE_LABELS = {"CONSULTATION": "Consultation", "MODIFICATION": "Modification"}

ATTACHMENT_STATUS_LABELS = {
    "EN_COURS_DE_VALIDATION": "En cours de validation",
    "VALIDEE": "Acceptée",
    "REFUSEE": "Refusée",
    "DESACTIVEE": "Désactivée",
    "ANNULEE": "Annulée",
}

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "country")

ROUTING_LABELS = {
    "service_code_required": "Code service obligatoire",
    "engagement_required": "Numéro d'engagement obligatoire",
    "service_or_engagement_required": "Code service ou numéro d'engagement obligatoire",
    "payment_status_not_reported": "Statut de paiement non remonté",
}

STATUS_LABELS = {"ACTIVE": "Active", "INACTIVE": "Inactive"}


def role_code(number: int) -> str:
    return ROLE.to_rest(number) or ""


def space_code(number: int) -> str:
    return SPACE.to_rest(number) or ""


def mode_code(number: int) -> str:
    return ACCESS_MODE.to_rest(number) or ""


def person_name(person: pb.Person) -> str:
    name = f"{person.first_name} {person.last_name}".strip()
    return f"{name} ({person.email})" if person.email and name else name or person.email

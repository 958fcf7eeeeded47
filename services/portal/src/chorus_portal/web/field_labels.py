"""French names of the fields the services report errors on, for messages that list errors
apart from their field (the error page, a form's summary): a field name such as
``issued_to`` is never shown to a user. A field without a French name is left out (its
message alone is shown), and so is a name the message already says ("Prénom obligatoire.")."""

from __future__ import annotations

import unicodedata

FIELD_LABELS = {
    "login_email": "Adresse e-mail",
    "contact_email": "Adresse e-mail de contact",
    "email": "Adresse e-mail",
    "first_name": "Prénom",
    "last_name": "Nom",
    "phone": "Téléphone",
    "terms_accepted": "Conditions d'utilisation",
    "password": "Mot de passe",
    "password_confirmation": "Confirmation du mot de passe",
    "secret_question": "Question secrète",
    "secret_answer": "Réponse secrète",
    "code": "Code",
    "identifier_type": "Type d'identifiant",
    "identifier": "Identifiant",
    "raison_sociale": "Raison sociale",
    "libelle": "Libellé",
    "line1": "Adresse",
    "line2": "Complément d'adresse",
    "postal_code": "Code postal",
    "city": "Ville",
    "country": "Pays",
    "vat_number": "N° de TVA",
    "comment": "Commentaire",
    "role": "Rôle",
    "mode": "Mode d'accès",
    "name": "Nom",
    "issued_from": "Émise depuis le",
    "issued_to": "Émise jusqu'au",
    "deposited_from": "Déposée depuis le",
    "deposited_to": "Déposée jusqu'au",
    "min_amount": "Montant minimum",
    "max_amount": "Montant maximum",
    "page_size": "Nombre de résultats par page",
    "page_token": "Page",
}


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def labelled(field: str, message: str, labels: dict[str, str] | None = None) -> str:
    """``message`` prefixed with the field's French name, unless it has none (an internal
    name is never shown) or the message names it already."""
    label = (labels or FIELD_LABELS).get(field.removeprefix("address."), "")
    if not label or _folded(label) in _folded(message):
        return message
    return f"{label} : {message}"

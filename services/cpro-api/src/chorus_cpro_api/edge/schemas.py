"""Body schemas of the operations no official Swagger file describes (transverses,
utilisateurs, engagementsJuridiques), in the Swagger's own style, from what the clients send
(the wire contract's README §2.2, §2.6, §2.9; go-choruspro's ``transverses_*.go``,
``utilisateurs_rattachements.go``; OCA's commitment check). Field names are the clients'."""

from __future__ import annotations

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
INT64: dict[str, Any] = {"type": "integer", "format": "int64"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}

PAGINATION = {
    "type": "object",
    "properties": {
        "nbResultatsParPage": INT64,
        "pageResultatDemandee": INT64,
        "triColonne": STRING,
        "triSens": STRING,
    },
}

DEFINITIONS: dict[str, Any] = {}

OPERATIONS: dict[str, dict[str, Any]] = {
    "consulterCR": {
        "type": "object",
        "properties": {
            "numeroFluxDepot": STRING,
            "syntaxeFlux": STRING,
            "dateDepot": STRING,
        },
    },
    "consulterCRDetaille": {
        "type": "object",
        "properties": {"numeroFluxDepot": STRING, "syntaxeFlux": STRING},
    },
    "ajouterFichierDansSysteme": {
        "type": "object",
        "properties": {
            "idUtilisateurCourant": INT64,
            "pieceJointeFichier": STRING,
            "pieceJointeNom": STRING,
            "pieceJointeTypeMime": STRING,
            "pieceJointeExtension": STRING,
        },
    },
    # Every reference list: optional language, object type, current status, request type.
    "recupererReferentiel": {
        "type": "object",
        "properties": {
            "codeLangue": STRING,
            "typeObjet": STRING,
            "statutCourant": STRING,
            "typeDemandePaiement": STRING,
        },
    },
    # recuperer/etats/traitement: go-choruspro sends statutCourant (the current status);
    # Chorus also takes the invoice itself, by its one integer id under either name.
    "recupererEtatsTraitement": {
        "type": "object",
        "properties": {
            "codeLangue": STRING,
            "statutCourant": STRING,
            "idFacture": INT64,
            "identifiantFactureCPP": INT64,
        },
    },
    "recupererRattachementsMonCompteUtilisateur": {
        "type": "object",
        "properties": {"parametresRecherche": PAGINATION},
    },
    "rechercherEngagementJuridique": {
        "type": "object",
        "properties": {
            "structureReceptriceEngagementJuridique": STRING,
            "numeroEngagementJuridique": STRING,
            "etatCourantEngagementJuridique": STRING,
            "parametresRecherche": PAGINATION,
        },
    },
}

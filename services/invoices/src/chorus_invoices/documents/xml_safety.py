"""Parsing XML that strangers send, without letting it reach anything but its own bytes.

The parser loads no DTD, expands no entity, opens no file and no network address (every load
the document asks for goes to a resolver that refuses it), and keeps libxml2's own limits on
(no ``huge_tree``). A document that declares a DTD at all — internal subset (billion laughs,
XXE) or external one — is refused, as is an XInclude element: invoices never need either.
Each refusal has its own reason so a supplier's integrator can tell what to fix:

- ``XML_TOO_LARGE``: more bytes than allowed, or a libxml2 resource limit hit;
- ``XML_TOO_DEEP``: elements nested deeper than allowed;
- ``XML_TOO_MANY_ELEMENTS``: more elements in all, or more children in one element, than any
  invoice has (a million empty elements fit in 4 MB and would cost the schematron a minute
  and a gigabyte);
- ``XML_ATTRIBUTE_TOO_LONG``: an attribute value longer than allowed (invoice attributes are
  codes: currency, unit, scheme);
- ``XML_FORBIDDEN_CONSTRUCT``: DOCTYPE/DTD, entity declarations, external loads, XInclude;
- ``XML_MALFORMED``: not well-formed XML.

What comes out is a tree with no DOCTYPE; :func:`canonical_bytes` re-serialises it, and that
is the only form handed to the validators, so they never see the original prolog.
"""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.errors import FieldViolation, InvalidArgument
from lxml import etree

XINCLUDE_NAMESPACE = "http://www.w3.org/2001/XInclude"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
# An invoice has at most 1,000 lines (domain/validation.py) of a few dozen elements each.
DEFAULT_MAX_ELEMENTS = 100_000
DEFAULT_MAX_CHILDREN = 5_000
DEFAULT_MAX_ATTRIBUTE_CHARS = 4_096


@dataclass(frozen=True)
class XmlLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_elements: int = DEFAULT_MAX_ELEMENTS
    max_children: int = DEFAULT_MAX_CHILDREN
    max_attribute_chars: int = DEFAULT_MAX_ATTRIBUTE_CHARS


class XmlRejected(InvalidArgument):
    """The document was refused before anything looked at its content."""

    def __init__(self, reason: str, message: str, field: str = "file") -> None:
        super().__init__(reason, message, [FieldViolation(field, message)])


class _ExternalLoad(Exception):
    """The document asked the parser to fetch something (DTD, entity, …)."""


class _RefuseEverything(etree.Resolver):
    def resolve(self, system_url, public_id, context):
        raise _ExternalLoad(system_url or public_id or "")


def _parser() -> etree.XMLParser:
    # One per call: an lxml parser serialises its users, and resolvers hang off it.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        collect_ids=False,
        remove_blank_text=False,
    )
    parser.resolvers.add(_RefuseEverything())
    return parser


def parse_xml(data: bytes, limits: XmlLimits = XmlLimits(), field: str = "file") -> etree._Element:
    """The root element of ``data``, or :class:`XmlRejected` with one of the four reasons."""
    if len(data) > limits.max_bytes:
        raise XmlRejected(
            "XML_TOO_LARGE",
            f"Le fichier XML dépasse la taille autorisée ({readable_size(limits.max_bytes)}).",
            field,
        )
    if not data.strip():
        raise XmlRejected("XML_MALFORMED", "Le fichier XML est vide.", field)
    try:
        root = etree.fromstring(data, _parser())
    except _ExternalLoad:
        raise _forbidden(field, "il demande à charger une ressource externe") from None
    except etree.XMLSyntaxError as err:
        raise _syntax_error(err, field) from None
    if root is None:
        raise XmlRejected("XML_MALFORMED", "Le fichier XML ne contient aucun élément.", field)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _forbidden(field, "il déclare une DTD (DOCTYPE)")
    _check_elements(root, limits, field)
    return root


def readable_size(size: int) -> str:
    """``10 Mo``, ``512 Ko``, ``100 octets``."""
    if size >= 1024**2:
        return f"{size / 1024**2:g} Mo"
    if size >= 1024:
        return f"{size / 1024:g} Ko"
    return f"{size} octets"


def canonical_bytes(root: etree._Element) -> bytes:
    """The tree as UTF-8 XML with a plain declaration: no DOCTYPE, nothing outside the root."""
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _check_elements(root: etree._Element, limits: XmlLimits, field: str) -> None:
    # children[i]: how many children the open element at depth i has had so far.
    children = [0]
    elements = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            children.pop()
            continue
        elements += 1
        children[-1] += 1
        children.append(0)
        if len(children) - 1 > limits.max_depth:
            raise XmlRejected(
                "XML_TOO_DEEP",
                f"Le fichier XML imbrique plus de {limits.max_depth} niveaux d'éléments.",
                field,
            )
        if elements > limits.max_elements or children[-2] > limits.max_children:
            raise XmlRejected(
                "XML_TOO_MANY_ELEMENTS",
                f"Le fichier XML contient trop d'éléments (au plus {limits.max_elements} en"
                f" tout et {limits.max_children} dans un même élément).",
                field,
            )
        if isinstance(element, etree._Entity):
            raise _forbidden(field, "il utilise des entités")
        tag = element.tag
        if isinstance(tag, str) and tag.startswith("{" + XINCLUDE_NAMESPACE + "}"):
            raise _forbidden(field, "il contient une inclusion XInclude")
        for name, value in element.attrib.items():
            if len(value) > limits.max_attribute_chars:
                raise XmlRejected(
                    "XML_ATTRIBUTE_TOO_LONG",
                    f"L'attribut « {etree.QName(name).localname[:50]} » dépasse"
                    f" {limits.max_attribute_chars} caractères.",
                    field,
                )


def _forbidden(field: str, why: str) -> XmlRejected:
    return XmlRejected(
        "XML_FORBIDDEN_CONSTRUCT",
        f"Le fichier XML est refusé : {why}. Envoyez une facture sans DOCTYPE ni entités.",
        field,
    )


def _syntax_error(err: etree.XMLSyntaxError, field: str) -> XmlRejected:
    last = err.error_log.last_error if err.error_log else None
    kind = last.type_name if last is not None else ""
    text = str(err)
    if "Excessive depth" in text:
        return XmlRejected(
            "XML_TOO_DEEP", "Le fichier XML imbrique trop de niveaux d'éléments.", field
        )
    # Entity attacks (billion laughs: libxml2 counts the amplification even unexpanded).
    if "entit" in text.lower() or kind in ("ERR_UNDECLARED_ENTITY", "ERR_ENTITY_LOOP"):
        return _forbidden(field, "il utilise des entités")
    if kind == "ERR_RESOURCE_LIMIT" or "huge" in text.lower():
        return XmlRejected(
            "XML_TOO_LARGE", "Le fichier XML dépasse les limites de traitement autorisées.", field
        )
    line = f" (ligne {err.lineno})" if err.lineno else ""
    return XmlRejected("XML_MALFORMED", f"Le fichier n'est pas un XML bien formé{line}.", field)

"""Safe XML parsing: every hostile construct refused with its own reason, nothing fetched."""

from __future__ import annotations

from itertools import pairwise

import pytest
from chorus_invoices.documents.xml_safety import XmlLimits, XmlRejected, canonical_bytes, parse_xml

UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"


def billion_laughs(levels: int = 6) -> bytes:
    names = "abcdefghij"[:levels]
    entities = "".join(
        f"<!ENTITY {name} '{f'&{previous};' * 10}'>" for previous, name in pairwise(names)
    )
    return (
        f"<!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>{entities}]><r>{f'&{names[-1]};' * 10}</r>".encode()
    )


def refusal(data: bytes, limits: XmlLimits | None = None) -> str:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data, limits or XmlLimits())
    assert caught.value.violations[0].field == "file"
    return caught.value.reason


def test_plain_invoice_parses_and_reserialises_without_prolog_extras():
    root = parse_xml(
        b'<?xml version="1.0"?>\n<!-- note --><Invoice xmlns="%s"><a>x</a></Invoice>' % UBL.encode()
    )
    assert root.tag == f"{{{UBL}}}Invoice"
    out = canonical_bytes(root)
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b"DOCTYPE" not in out and b"note" not in out


def test_external_entity_to_a_local_file_is_refused_without_reading_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY s SYSTEM "{secret.as_uri()}">]><r>&s;</r>'
    ).encode()
    assert refusal(data) == "XML_FORBIDDEN_CONSTRUCT"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>', id="xxe-network"
        ),
        pytest.param(
            b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r/>', id="external-dtd-network"
        ),
        pytest.param(b'<!DOCTYPE r SYSTEM "/etc/passwd"><r/>', id="external-dtd-local"),
        pytest.param(b'<!DOCTYPE r PUBLIC "-//X//DTD X//EN" "r.dtd"><r/>', id="public-dtd"),
        pytest.param(
            b'<!DOCTYPE r [<!ENTITY % p SYSTEM "/etc/passwd"> %p;]><r/>', id="parameter-entity"
        ),
        pytest.param(b'<!DOCTYPE r [<!ENTITY a "harmless">]><r>&a;</r>', id="internal-entity"),
        pytest.param(b"<!DOCTYPE r><r/>", id="bare-doctype"),
        pytest.param(
            billion_laughs(),
            id="billion-laughs",
        ),
        pytest.param(b"<r>&undeclared;</r>", id="undeclared-entity"),
        pytest.param(
            b'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></r>',
            id="xinclude",
        ),
        pytest.param(
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "/etc/passwd"><r/>'.encode(
                "utf-16"
            ),
            id="utf16-external-dtd",
        ),
    ],
)
def test_dtds_entities_and_inclusions_are_forbidden(data):
    assert refusal(data) == "XML_FORBIDDEN_CONSTRUCT"


def test_size_limit_is_exact():
    data = b"<r>" + b"x" * 93 + b"</r>"
    assert len(data) == 100
    assert parse_xml(data, XmlLimits(max_bytes=100)).tag == "r"
    assert refusal(data + b" ", XmlLimits(max_bytes=100)) == "XML_TOO_LARGE"


def test_depth_limit_is_exact():
    def nested(depth: int) -> bytes:
        return b"<a>" * depth + b"</a>" * depth

    assert parse_xml(nested(10), XmlLimits(max_depth=10)).tag == "a"
    assert refusal(nested(11), XmlLimits(max_depth=10)) == "XML_TOO_DEEP"


def test_depth_beyond_libxml_own_limit_is_too_deep_too():
    assert refusal(b"<a>" * 300 + b"</a>" * 300, XmlLimits(max_depth=1000)) == "XML_TOO_DEEP"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<r><unclosed></r>",
        b"<r/><second/>",
        b"\xff\xfe\x00garbage",
    ],
    ids=["empty", "blank", "text", "unbalanced", "two-roots", "bad-bytes"],
)
def test_not_well_formed_is_malformed(data):
    assert refusal(data) == "XML_MALFORMED"


def test_messages_are_french_and_say_what_to_fix():
    with pytest.raises(XmlRejected) as caught:
        parse_xml(b"<!DOCTYPE r><r/>")
    assert "DOCTYPE" in caught.value.message and "Envoyez" in caught.value.message


def test_element_count_limits_are_exact():
    def flat(children: int) -> bytes:
        return b"<r>" + b"<c/>" * children + b"</r>"

    limits = XmlLimits(max_elements=1_000, max_children=10)
    assert len(parse_xml(flat(10), limits)) == 10
    assert refusal(flat(11), limits) == "XML_TOO_MANY_ELEMENTS"
    # 1 root + 10 groups of 9 children each = 101 elements, none with more than 10 children
    groups = b"<g>" + b"<c/>" * 9 + b"</g>"
    wide = b"<r>" + groups * 10 + b"</r>"
    assert parse_xml(wide, XmlLimits(max_elements=101, max_children=10)).tag == "r"
    assert refusal(wide, XmlLimits(max_elements=100, max_children=10)) == "XML_TOO_MANY_ELEMENTS"


def test_a_million_empty_elements_are_refused_before_any_validator_sees_them():
    assert refusal(b"<r>" + b"<c/>" * 1_000_000 + b"</r>") == "XML_TOO_MANY_ELEMENTS"


def test_attribute_length_limit_is_exact():
    def attribute(length: int) -> bytes:
        return b'<r currencyID="' + b"E" * length + b'"/>'

    assert parse_xml(attribute(100), XmlLimits(max_attribute_chars=100)).tag == "r"
    assert refusal(attribute(101), XmlLimits(max_attribute_chars=100)) == "XML_ATTRIBUTE_TOO_LONG"
    assert refusal(attribute(5_000_000)) == "XML_ATTRIBUTE_TOO_LONG"


def test_comments_and_processing_instructions_inside_are_not_attributes():
    assert parse_xml(b"<r><!-- c --><?pi x?><a k='v'/></r>").tag == "r"

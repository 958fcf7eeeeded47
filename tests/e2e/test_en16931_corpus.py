"""The official EN 16931 examples, deposited through the gateway as a supplier would.

Every UBL and CII example of the CEN artefacts (``services/invoices/tests/corpus/en16931``,
pinned in its ``SOURCE.md``) is deposited with ``POST /invoices/xml`` after replacing only
the seller's and the buyer's legal identifiers (BT-30, BT-47) by the SIRETs of structures
made here: a supplier per file (several examples share a number) and one public recipient
imported from a directory file, with a service for each buyer reference (BT-10) that can be
a Chorus service code.

- a file the official schematron finds valid is accepted (201) and its detail
  (``GET /invoices/{id}``) states what the file states: BT-106…BT-115, the VAT breakdown,
  every document-level allowance and charge, the references and the payment accounts, all
  read here from the XML itself with XPath, not with the service's readers;
- a file the schematron refuses is refused (422 ``EN16931_RULES_FAILED``) with exactly the
  rule ids recorded in ``expected.toml`` (produced by the official XSLT); every example of
  this release is valid, so one UBL and one CII example are also deposited with their total
  with VAT (BT-112) one unit off, and must be refused with exactly the rules the pinned
  official stylesheet gives for that very file;
- the few valid files that break a rule Chorus Pro itself enforces (the invoice number's
  alphabet, a buyer reference that names no service of the recipient) are refused with that
  rule's code, listed below with the reason.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from chorus_structures.domain import directory
from e2e_support import activated_user, random_siret
from lxml import etree
from test_invoice_documents import supplier_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

CORPUS = Path(__file__).resolve().parents[2] / "services/invoices/tests/corpus/en16931"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())
SIRET_SCHEME = "0009"

UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
_SERVICE_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

# Valid per EN 16931 but refused by a rule Chorus Pro itself enforces (issue #10: "Chorus'
# own checks keep only what Chorus Pro itself enforces").
CHORUS_REFUSALS = {
    # the number has spaces: Chorus Pro takes 1-20 letters, digits, _ / -
    "ubl/sample-discount-price.xml": "INVOICE_NUMBER_INVALID",
    "ubl/ubl-tc434-creditnote1.xml": "INVOICE_NUMBER_INVALID",
}


def corpus_files() -> list[str]:
    return sorted(EXPECTED)


def is_cii(root: etree._Element) -> bool:
    return etree.QName(root).localname == "CrossIndustryInvoice"


def buyer_reference(root: etree._Element) -> str:
    if is_cii(root):
        path = "string(//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference)"
        return root.xpath(path, namespaces=CII).strip()
    return root.xpath("string(cbc:BuyerReference)", namespaces=UBL).strip()


def service_code_of(reference: str) -> str | None:
    """The Chorus service code a buyer reference can be (case-insensitive), else None."""
    code = reference.upper()
    if code and len(code) <= 30 and set(code) <= _SERVICE_CODE_CHARS and code[0].isalnum():
        return code
    return None


def chorus_refusal(name: str, root: etree._Element) -> str | None:
    if name in CHORUS_REFUSALS:
        return CHORUS_REFUSALS[name]
    reference = buyer_reference(root)
    if reference and service_code_of(reference) is None:
        return "SERVICE_CODE_UNKNOWN"
    return None


def parse(name: str) -> etree._Element:
    return etree.fromstring((CORPUS / name).read_bytes())


# -- replacing the legal identifiers -------------------------------------------------------


def _set_ubl_legal_id(party: etree._Element, siret: str) -> None:
    entity = party.find("cac:PartyLegalEntity", UBL)
    if entity is None:
        entity = etree.SubElement(party, f"{{{UBL['cac']}}}PartyLegalEntity")
    company = entity.find("cbc:CompanyID", UBL)
    if company is None:
        company = etree.Element(f"{{{UBL['cbc']}}}CompanyID")
        name = entity.find("cbc:RegistrationName", UBL)
        entity.insert(0 if name is None else entity.index(name) + 1, company)
    company.text = siret
    company.attrib.clear()
    company.set("schemeID", SIRET_SCHEME)


_CII_BEFORE_LEGAL = ("ID", "GlobalID", "Name", "RoleCode", "Description")


def _set_cii_legal_id(party: etree._Element, siret: str) -> None:
    organization = party.find("ram:SpecifiedLegalOrganization", CII)
    if organization is None:
        organization = etree.Element(f"{{{CII['ram']}}}SpecifiedLegalOrganization")
        before = [c for c in party if etree.QName(c).localname in _CII_BEFORE_LEGAL]
        party.insert(party.index(before[-1]) + 1 if before else 0, organization)
    identifier = organization.find("ram:ID", CII)
    if identifier is None:
        identifier = etree.Element(f"{{{CII['ram']}}}ID")
        organization.insert(0, identifier)
    identifier.text = siret
    identifier.attrib.clear()
    identifier.set("schemeID", SIRET_SCHEME)


def with_parties(root: etree._Element, seller_siret: str, buyer_siret: str) -> bytes:
    """The file with BT-30 = the seller's SIRET and BT-47 = the buyer's (scheme 0009)."""
    root = etree.fromstring(etree.tostring(root))
    if is_cii(root):
        agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/"
        (seller,) = root.xpath(agreement + "ram:SellerTradeParty", namespaces=CII)
        (buyer,) = root.xpath(agreement + "ram:BuyerTradeParty", namespaces=CII)
        _set_cii_legal_id(seller, seller_siret)
        _set_cii_legal_id(buyer, buyer_siret)
    else:
        (seller,) = root.xpath("cac:AccountingSupplierParty/cac:Party", namespaces=UBL)
        (buyer,) = root.xpath("cac:AccountingCustomerParty/cac:Party", namespaces=UBL)
        _set_ubl_legal_id(seller, seller_siret)
        _set_ubl_legal_id(buyer, buyer_siret)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- what the file states, read with XPath ---------------------------------------------------


def _text(root, path, ns) -> str:
    return root.xpath(f"string({path})", namespaces=ns).strip()


def _amount(root, path, ns) -> Decimal | None:
    text = root.xpath(f"string({path})", namespaces=ns).strip()
    return Decimal(text) if text else None


def stated(root: etree._Element) -> dict:
    """BT-106…BT-115, allowances/charges, references and payment accounts as written."""
    if is_cii(root):
        ns = CII
        settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
        total = settlement + "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
        currency = root.xpath(f"string({settlement}ram:InvoiceCurrencyCode)", namespaces=ns).strip()
        totals = {
            "line_total": _amount(root, total + "ram:LineTotalAmount", ns),
            "allowance_total": _amount(root, total + "ram:AllowanceTotalAmount", ns),
            "charge_total": _amount(root, total + "ram:ChargeTotalAmount", ns),
            "tax_exclusive": _amount(root, total + "ram:TaxBasisTotalAmount", ns),
            "vat_total": _amount(root, f"{total}ram:TaxTotalAmount[@currencyID='{currency}']", ns),
            "tax_inclusive": _amount(root, total + "ram:GrandTotalAmount", ns),
            "prepaid": _amount(root, total + "ram:TotalPrepaidAmount", ns),
            "rounding": _amount(root, total + "ram:RoundingAmount", ns),
            "amount_due": _amount(root, total + "ram:DuePayableAmount", ns),
        }
        udt = {**ns, "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
        allowances = [
            (
                _text(node, "ram:ChargeIndicator/udt:Indicator", udt) == "true",
                Decimal(_text(node, "ram:ActualAmount", ns)),
            )
            for node in root.xpath(settlement + "ram:SpecifiedTradeAllowanceCharge", namespaces=ns)
        ]
        agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/"
        references = {
            "purchase_order_reference": _text(
                root, agreement + "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", ns
            ),
            "contract_reference": _text(
                root, agreement + "ram:ContractReferencedDocument/ram:IssuerAssignedID", ns
            ),
            "project_reference": _text(
                root, agreement + "ram:SpecifiedProcuringProject/ram:ID", ns
            ),
        }
        account = (
            settlement + "ram:SpecifiedTradeSettlementPaymentMeans/"
            "ram:PayeePartyCreditorFinancialAccount/"
        )
        accounts = [
            (node.text or "").strip()
            for node in root.xpath(
                f"{account}ram:IBANID | {account}ram:ProprietaryID", namespaces=ns
            )
        ]
        breakdown = [
            (
                node.xpath("string(ram:CategoryCode)", namespaces=ns).strip(),
                Decimal(node.xpath("string(ram:BasisAmount)", namespaces=ns).strip()),
                Decimal(node.xpath("string(ram:CalculatedAmount)", namespaces=ns).strip()),
            )
            for node in root.xpath(settlement + "ram:ApplicableTradeTax", namespaces=ns)
        ]
    else:
        ns = UBL
        total = "cac:LegalMonetaryTotal/"
        currency = root.xpath("string(cbc:DocumentCurrencyCode)", namespaces=ns).strip()
        totals = {
            "line_total": _amount(root, total + "cbc:LineExtensionAmount", ns),
            "allowance_total": _amount(root, total + "cbc:AllowanceTotalAmount", ns),
            "charge_total": _amount(root, total + "cbc:ChargeTotalAmount", ns),
            "tax_exclusive": _amount(root, total + "cbc:TaxExclusiveAmount", ns),
            "vat_total": _amount(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']", ns),
            "tax_inclusive": _amount(root, total + "cbc:TaxInclusiveAmount", ns),
            "prepaid": _amount(root, total + "cbc:PrepaidAmount", ns),
            "rounding": _amount(root, total + "cbc:PayableRoundingAmount", ns),
            "amount_due": _amount(root, total + "cbc:PayableAmount", ns),
        }
        allowances = [
            (
                node.xpath("string(cbc:ChargeIndicator)", namespaces=ns).strip() == "true",
                Decimal(node.xpath("string(cbc:Amount)", namespaces=ns).strip()),
            )
            for node in root.xpath("cac:AllowanceCharge", namespaces=ns)
        ]
        references = {
            "purchase_order_reference": _text(root, "cac:OrderReference/cbc:ID", ns),
            "contract_reference": _text(root, "cac:ContractDocumentReference/cbc:ID", ns),
            "project_reference": _text(root, "cac:ProjectReference/cbc:ID", ns),
        }
        accounts = [
            (a.text or "").strip()
            for a in root.xpath("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=ns)
        ]
        breakdown = [
            (
                node.xpath("string(cac:TaxCategory/cbc:ID)", namespaces=ns).strip(),
                Decimal(node.xpath("string(cbc:TaxableAmount)", namespaces=ns).strip()),
                Decimal(node.xpath("string(cbc:TaxAmount)", namespaces=ns).strip()),
            )
            for node in root.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=ns)
        ]
    return {
        "totals": totals,
        "allowances_charges": allowances,
        "references": references,
        "accounts": accounts,
        "breakdown": breakdown,
    }


def shown(document: dict) -> dict:
    """The same facts from the invoice detail's ``document`` (the EN 16931 model)."""
    totals = {
        name: (Decimal(document["totals"][name]) if name in document["totals"] else None)
        for name in (
            "line_total",
            "allowance_total",
            "charge_total",
            "tax_exclusive",
            "vat_total",
            "tax_inclusive",
            "prepaid",
            "rounding",
            "amount_due",
        )
    }
    payment = document.get("payment_instructions") or {}
    return {
        "totals": totals,
        "allowances_charges": [
            (bool(ac.get("charge")), Decimal(ac["amount"]))
            for ac in document.get("allowances_charges", [])
        ],
        "references": {
            name: document.get(name, "")
            for name in ("purchase_order_reference", "contract_reference", "project_reference")
        },
        "accounts": [t["account"] for t in payment.get("credit_transfers", [])],
        "breakdown": [
            (v["category"], Decimal(v["taxable_amount"]), Decimal(v["tax_amount"]))
            for v in document["vat_breakdown"]
        ],
    }


# -- the stack's side ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipient(stack, tmp_path_factory):
    """A public recipient imported like a directory file, with a service for every buyer
    reference of the corpus that can be a service code."""
    if stack is None:
        pytest.fail("this test imports a directory into the stack it starts (no external stack)")
    codes = sorted(
        {code for name in corpus_files() if (code := service_code_of(buyer_reference(parse(name))))}
    )
    siret = random_siret()
    path = tmp_path_factory.mktemp("directory") / "en16931.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=directory.COLUMNS)
        writer.writeheader()
        services = [
            {"code": code, "name": f"Service {code}", "engagement_required": False}
            for code in codes
        ]
        writer.writerow(
            {
                "siret": siret,
                "raison_sociale": "Agence des essais EN 16931",
                "libelle": "Service facturier",
                "address_line1": "1 rue de la Norme",
                "address_line2": "",
                "postal_code": "75007",
                "city": "Paris",
                "country": "FR",
                "email": "factures@essais-en16931.fr",
                "service_code_required": "false",
                "engagement_required": "false",
                "service_or_engagement_required": "false",
                "payment_status_not_reported": "false",
                "active": "true",
                "services": json.dumps(services),
            }
        )
    command = Path(sys.executable).parent / "chorus-structures"
    subprocess.run(
        [str(command), "import-directory", str(path)],
        env=stack.child_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return siret


async def deposit(api, auth, supplier, content: bytes, filename: str):
    return await api.post(
        "/invoices/xml",
        headers=auth,
        files={"file": (filename, content, "application/xml")},
        data={"supplier_structure_id": supplier["id"]},
    )


@pytest.mark.parametrize("name", corpus_files())
async def test_official_example_goes_in_whole_or_is_refused_by_its_rules(
    api, mailbox, recipient, name
):
    expected = EXPECTED[name]
    root = parse(name)
    _, _, auth = await activated_user(api, mailbox, "Norma")
    supplier = await supplier_of(api, auth, name=f"Fournisseur {Path(name).stem}"[:80])
    content = with_parties(root, supplier["identifier"], recipient)
    response = await deposit(api, auth, supplier, content, Path(name).name)
    if not expected["valid"]:
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "EN16931_RULES_FAILED", problem
        # each error names its rule first: "[BR-CO-10] ..."
        refused = {
            e["message"].split("]")[0].lstrip("[")
            for e in problem["errors"]
            if e.get("message", "").startswith("[")
        }
        assert refused == set(expected["rules"]), problem
        return
    refusal = chorus_refusal(name, root)
    if refusal is not None:
        assert response.status_code == 422, response.text
        assert response.json()["code"] == refusal, response.text
        return
    assert response.status_code == 201, response.text
    created = response.json()
    detail = await api.get(f"/invoices/{created['id']}", headers=auth)
    assert detail.status_code == 200, detail.text
    document = detail.json()["document"]
    assert shown(document) == stated(root)


def _official():
    """``official_rules(syntax, xml)`` of the corpus' own generator (the pinned CEN XSLT run
    with saxonche, none of the service's code)."""
    spec = importlib.util.spec_from_file_location("make_expected", CORPUS / "make_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.official_rules


def with_gross_off(content: bytes) -> bytes:
    """The file with its BT-112 one unit higher (and nothing else changed)."""
    root = etree.fromstring(content)
    if is_cii(root):
        path = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount"
        (node,) = root.xpath(path, namespaces=CII)
    else:
        (node,) = root.xpath("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", namespaces=UBL)
    node.text = str(Decimal(node.text) + 1)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("name", ["ubl/ubl-tc434-example1.xml", "cii/CII_example1.xml"])
async def test_a_broken_example_is_refused_with_the_official_rules(api, mailbox, recipient, name):
    _, _, auth = await activated_user(api, mailbox, "Norbert")
    supplier = await supplier_of(api, auth, name=f"Fournisseur {Path(name).stem}")
    content = with_gross_off(with_parties(parse(name), supplier["identifier"], recipient))
    official = set(_official()(name.split("/")[0], content))
    assert "BR-CO-15" in official  # the stylesheet does see the broken total
    response = await deposit(api, auth, supplier, content, Path(name).name)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "EN16931_RULES_FAILED", problem
    refused = {
        e["message"].split("]")[0].lstrip("[")
        for e in problem["errors"]
        if e.get("message", "").startswith("[")
    }
    assert refused == official, problem

"""The pre-authorized deposit path (the flow worker's, for the issuer DepositFlow recorded)
cannot be reached from an RPC, and acts for its recorded issuer alone."""

from __future__ import annotations

import ast
import pathlib

import chorus_invoices
import pytest
from chorus_invoices.domain.errors import AccessDenied
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.usecases.deposit import Issuer, PreAuthorizedDeposits

PACKAGE = pathlib.Path(chorus_invoices.__file__).parent
# What bypasses the right's check: the grant, the class acting on it, and the inner method.
BYPASS = {"Issuer", "PreAuthorizedDeposits", "through", "_create"}
ALLOWED = {
    "usecases/deposit.py",  # defines them
    "usecases/structured_deposit.py",  # accepts a PreAuthorizedDeposits (``through``)
    "usecases/flows.py",  # the flow worker: the one place that builds them
}


def _names(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.rsplit(".", 1)[-1])
    return found


def test_only_the_flow_worker_reaches_the_pre_authorized_path():
    users = {
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if _names(path) & BYPASS
    }
    assert users <= ALLOWED
    assert not [u for u in users if u.startswith(("api/", "events/"))]


def test_flows_build_it_in_the_worker_only():
    tree = ast.parse((PACKAGE / "usecases/flows.py").read_text(encoding="utf-8"))
    builders = {
        (cls.name, node.func.id)
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for node in ast.walk(cls)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"Issuer", "PreAuthorizedDeposits"}
    }
    assert builders == {("FlowWorker", "Issuer"), ("FlowWorker", "PreAuthorizedDeposits")}


@pytest.mark.parametrize(
    ("user", "supplier"),
    [("someone-else", "s-1"), ("u-1", "s-2"), ("", "s-1"), ("u-1", "")],
)
async def test_it_refuses_anyone_but_the_recorded_issuer(user, supplier):
    issuer = Issuer("u-1", "s-1", Recipient("s-1", "Atelier Dupont", public=False, active=True))
    deposits = PreAuthorizedDeposits(None, issuer)  # refused before reaching them
    await deposits.check_issuer("u-1", " s-1 ")
    with pytest.raises(AccessDenied):
        await deposits.check_issuer(user, supplier)

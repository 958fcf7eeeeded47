"""The French web portal: server-rendered pages over the same service clients as the REST API
(and the shapes it shares with it, :mod:`chorus_edge`), never the API itself.

:data:`portal_router` assembles every page's router, in matching order: the deposit pages
before ``/factures/{id}``, which would catch ``/factures/nouvelle``
(and the exports, ``/factures/export.csv``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from chorus_edge.input_hygiene import checked_input
from chorus_portal.web import (
    account,
    address,
    api_access,
    feed,
    home,
    login,
    password_reset,
    session,
    signup,
    sollicitations,
)
from chorus_portal.web import legal as legal_pages
from chorus_portal.web.invoices import actions as invoice_actions
from chorus_portal.web.invoices import deposit as invoice_deposit
from chorus_portal.web.invoices import detail as invoice_detail
from chorus_portal.web.invoices import documents as invoice_documents
from chorus_portal.web.invoices import exports as invoice_exports
from chorus_portal.web.invoices import listing as invoice_list
from chorus_portal.web.structures import detail as structure_detail
from chorus_portal.web.structures import editing as structure_editing
from chorus_portal.web.structures import history as structure_history
from chorus_portal.web.structures import listing as structure_list
from chorus_portal.web.structures import members as structure_members
from chorus_portal.web.structures import services as structure_services
from chorus_portal.web.structures import spaces as structure_spaces
from chorus_portal.web.structures import technical_accounts as structure_technical_accounts

# checked_input runs before each page's own dependencies: no bad string reaches a service.
# remember_page_asked keeps the page asked for: a signed-out browser returns to it after login.
portal_router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(checked_input), Depends(session.remember_page_asked)],
)
for module in (
    home,
    signup,
    login,
    password_reset,
    address,
    feed,
    invoice_deposit,
    invoice_list,
    invoice_exports,
    invoice_detail,
    invoice_actions,
    invoice_documents,
    structure_list,
    structure_detail,
    structure_members,
    structure_editing,
    structure_services,
    structure_spaces,
    structure_history,
    structure_technical_accounts,
    account,
    api_access,
    sollicitations,
):
    portal_router.include_router(module.router)
# Public pages (conditions of use, favicon), apart from the list above.
portal_router.include_router(legal_pages.router)

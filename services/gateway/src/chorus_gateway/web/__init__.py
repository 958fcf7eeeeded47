"""The French web portal: server-rendered pages over the same service clients as the REST API
(and the shapes it shares with it, :mod:`chorus_gateway.edge`), never the API itself.

:data:`portal_router` assembles every page's router, in matching order: the deposit pages
before ``/factures/{id}``, which would catch ``/factures/nouvelle``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from chorus_gateway.edge.input_hygiene import checked_input
from chorus_gateway.web import account, api_access, portal, sollicitations
from chorus_gateway.web.invoices import actions as invoice_actions
from chorus_gateway.web.invoices import deposit as invoice_deposit
from chorus_gateway.web.invoices import detail as invoice_detail
from chorus_gateway.web.invoices import documents as invoice_documents
from chorus_gateway.web.invoices import listing as invoice_list
from chorus_gateway.web.structures import detail as structure_detail
from chorus_gateway.web.structures import editing as structure_editing
from chorus_gateway.web.structures import history as structure_history
from chorus_gateway.web.structures import listing as structure_list
from chorus_gateway.web.structures import members as structure_members
from chorus_gateway.web.structures import services as structure_services
from chorus_gateway.web.structures import spaces as structure_spaces
from chorus_gateway.web.structures import technical_accounts as structure_technical_accounts

# checked_input runs before each page's own dependencies: no bad string reaches a service.
portal_router = APIRouter(include_in_schema=False, dependencies=[Depends(checked_input)])
for module in (
    portal,
    invoice_deposit,
    invoice_list,
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
    sollicitations,
    account,
    api_access,
):
    portal_router.include_router(module.router)

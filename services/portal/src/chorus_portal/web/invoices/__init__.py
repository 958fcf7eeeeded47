"""Portal invoice pages, one module per screen: :mod:`.listing` ("Mes factures"),
:mod:`.detail` (one invoice and the runner of its forms), :mod:`.actions` (those forms),
:mod:`.documents` (downloads), :mod:`.deposit` (``/factures/nouvelle``, three tabs);
:mod:`.forms` reads the invoice forms, :mod:`.display` holds what the pages share (notices,
names, the 404 page). The routers are assembled in :mod:`chorus_portal.web`.
"""

"""Portal structure pages, one module per screen or form group: :mod:`.listing` ("Mes
structures": memberships, requests, search, creation), :mod:`.detail` (one structure, and the
runner of its forms), :mod:`.members` (leaving, members, roles, attachment decisions),
:mod:`.editing` (details, routing parameters, status), :mod:`.services`, :mod:`.spaces`
(spaces and subscriptions) and :mod:`.history` (the managers' history); :mod:`.labels` and
:mod:`.display` hold what they share. The routers are assembled in :mod:`chorus_portal.web`.
"""

"""What every group of handlers calls: the use cases, built once by ``main``."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_structures.usecases.access import AccessChecks
from chorus_structures.usecases.attachments import Attachments
from chorus_structures.usecases.directory import Directory
from chorus_structures.usecases.membership import Members
from chorus_structures.usecases.my_memberships import MyMemberships
from chorus_structures.usecases.pending_requests import PendingRequestsSummary
from chorus_structures.usecases.registration import Registration
from chorus_structures.usecases.sollicitations import Sollicitations
from chorus_structures.usecases.spaces import Spaces
from chorus_structures.usecases.structures import StructureManagement


@dataclass(frozen=True)
class UseCases:
    registration: Registration
    directory: Directory
    access: AccessChecks
    my_memberships: MyMemberships
    management: StructureManagement
    members: Members
    attachments: Attachments
    spaces: Spaces
    pending_requests: PendingRequestsSummary

    sollicitations: Sollicitations


class Handlers:
    """Base of the handler groups the servicer is made of."""

    def __init__(self, usecases: UseCases) -> None:
        self._usecases = usecases

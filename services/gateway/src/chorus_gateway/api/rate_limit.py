"""The REST API's door to the shared rate limiter (:mod:`chorus_edge.rate_limits`):
a dependency per purpose, answering 429 ``RATE_LIMITED`` with ``Retry-After`` when the
caller's bucket for that purpose is empty (the portal's forms draw from the same buckets).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from chorus_edge.rate_limits import Purpose, rate_limited_problem, retry_after


def _limit(purpose: Purpose) -> Callable[[Request], None]:
    def rate_limited(request: Request) -> None:
        seconds = retry_after(request, purpose)
        if seconds is not None:
            raise rate_limited_problem(seconds)

    return rate_limited


LoginLimited = Annotated[None, Depends(_limit(Purpose.LOGIN))]
SecondFactorLimited = Annotated[None, Depends(_limit(Purpose.SECOND_FACTOR))]
PasswordResetLimited = Annotated[None, Depends(_limit(Purpose.PASSWORD_RESET))]
ResetLookupLimited = Annotated[None, Depends(_limit(Purpose.PASSWORD_RESET_LOOKUP))]
ResetConfirmLimited = Annotated[None, Depends(_limit(Purpose.PASSWORD_RESET_CONFIRM))]
ActivationResendLimited = Annotated[None, Depends(_limit(Purpose.ACTIVATION_RESEND))]
RegistrationLimited = Annotated[None, Depends(_limit(Purpose.REGISTRATION))]

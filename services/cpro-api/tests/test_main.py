"""The uvicorn configuration of ``chorus-cpro-api serve``."""

from __future__ import annotations

from chorus_cpro_api.config import CproApiSettings
from chorus_cpro_api.main import server_config


def test_http_is_parsed_by_httptools_on_uvloop_unless_the_setting_turns_it_off():
    default = server_config(CproApiSettings())
    plain = server_config(CproApiSettings(event_loop="asyncio"))

    assert (default.loop, default.http) == ("uvloop", "httptools")
    assert (plain.loop, plain.http) == ("asyncio", "h11")
    assert default.access_log is False and default.log_config is None

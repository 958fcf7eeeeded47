"""axe-core in the browser tests: every page state a test reaches gets ``await check_axe(page,
"what the user sees")``, which fails the test on any violation.

axe-core is pinned in tests/e2e/package.json / package-lock.json and installed by `make install`
(`npm ci --prefix tests/e2e`). It is evaluated in each frame through Playwright's
``evaluate`` (the DevTools protocol), which the page's Content-Security-Policy does not apply
to: the portal keeps its strict CSP (`script-src 'self'`, nothing inline) in these tests and no
``bypass_csp`` context is needed. The rules run are WCAG 2.0/2.1 levels A and AA plus axe's
best practices (landmarks, one ``h1``, heading order…).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
TARGETS_SHOWN = 3

_RUN = """async ([tags, exclude]) => {
    const context = exclude.length ? {include: [["html"]], exclude: exclude.map((s) => [s])}
                                   : document;
    const results = await window.axe.run(context, {
        runOnly: {type: "tag", values: tags},
        resultTypes: ["violations"],
    });
    return {
        version: window.axe.version,
        passes: results.passes.length,
        violations: results.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            helpUrl: v.helpUrl,
            nodes: v.nodes.map((n) => ({target: n.target.map(String).join(" "),
                                        summary: n.failureSummary || ""})),
        })),
    };
}"""


@cache
def axe_source() -> str:
    """The text of axe.min.js; fails the test, saying what to run, when it is not installed."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_JS} not found): run `make install`, which runs "
            "`npm ci --prefix tests/e2e` (npm comes from scripts/system_deps.sh)",
            pytrace=False,
        )
    return AXE_JS.read_text(encoding="utf-8")


async def inject_axe(page: Page) -> None:
    """Loads axe-core into every frame of ``page`` that does not have it yet."""
    source = axe_source()
    await page.wait_for_load_state("load")
    for frame in page.frames:
        try:
            if not await frame.evaluate("typeof window.axe === 'object'"):
                await frame.evaluate(source)
        except PlaywrightError:
            if frame is page.main_frame:
                raise
            # A frame detached meanwhile or not scriptable (a browser's own PDF viewer).


async def axe_results(page: Page, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """axe-core's results for the page as it is now, without the elements matching the CSS
    selectors ``exclude``: ``version``, ``passes`` (the number of rules that passed) and
    ``violations`` (id, impact, help, helpUrl, nodes' target and summary)."""
    await inject_axe(page)
    return await page.evaluate(_RUN, [AXE_TAGS, list(exclude)])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{len(nodes)} element(s)] {violation['helpUrl']}"
        )
        for node in nodes[:TARGETS_SHOWN]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
        if len(nodes) > TARGETS_SHOWN:
            lines.append(f"    … and {len(nodes) - TARGETS_SHOWN} more")
    return "\n".join(lines)


async def check_axe(page: Page, state: str, *, exclude: Sequence[str] = ()) -> None:
    """Fails the test if axe-core finds any violation on ``page`` as it is now. ``state`` says
    which screen and state it is (e.g. "saisie, erreur de SIRET"); it heads the failure.
    ``exclude``: CSS selectors of third-party parts not checked (say why at the call)."""
    results = await axe_results(page, exclude)
    if results["passes"] == 0:
        pytest.fail(f"axe-core ran no rule on {state} ({page.url})", pytrace=False)
    violations = results["violations"]
    if violations:
        pytest.fail(
            f"axe-core {results['version']}: {len(violations)} violation(s) on {state} "
            f"({page.url}):\n{describe(violations)}",
            pytrace=False,
        )

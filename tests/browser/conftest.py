"""Browser-test fixtures: one fast simulator, one Chromium, and JupyterLab, Notebook 7 and
Voila servers, started when a test first needs them.

Chromium is Debian's (``/usr/bin/chromium``) driven by the Playwright PyPI package; when it is
missing the tests are skipped with the reason (``scripts/ensure-chromium`` installs it in CI).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_harness import (
    ARTIFACTS,
    JupyterLab,
    JupyterServer,
    NotebookServer,
    VoilaServer,
    copy_notebooks,
    kernel_env,
)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str | None:
    """``$VIDU_TEST_CHROMIUM``, else ``chromium`` on PATH, else Debian's path; None if absent."""
    given = os.environ.get("VIDU_TEST_CHROMIUM")
    found = given or shutil.which("chromium") or "/usr/bin/chromium"
    return found if os.path.isfile(found) and os.access(found, os.X_OK) else None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def fast_simulator() -> Iterator[object]:
    """A simulator fast enough that a generation takes about a second."""
    simulator = pytest.importorskip("vidu_nb.simulator")
    if not hasattr(simulator, "Simulator"):
        pytest.skip("vidu_nb.simulator.Simulator is not available yet")
    with simulator.Simulator(speed=40.0, video_height=144) as sim:
        yield sim


def _serve(
    kind: type[JupyterServer], tmp_path_factory: pytest.TempPathFactory, sim, artifacts: Path
) -> Iterator[JupyterServer]:
    """Run ``kind`` over copies of the notebooks; kernels use ``sim`` and a private task log."""
    chromium_or_skip()  # before paying for a server the tests could not use
    work = tmp_path_factory.mktemp(kind.name.replace(" ", "-"))
    root = copy_notebooks(work / "root")
    env = kernel_env(sim.base_url, sim.api_key, work)
    env["VIDU_LOG_PATH"] = str(root / "vidu_tasks.sqlite")
    log_name = kind.name.replace(" ", "") + ".log"
    with kind(root, env, log_path=artifacts / log_name) as server:
        yield server


@pytest.fixture(scope="session")
def lab(
    tmp_path_factory: pytest.TempPathFactory, fast_simulator, artifacts
) -> Iterator[JupyterLab]:
    """JupyterLab on loopback serving copies of the notebooks; kernels use ``fast_simulator``."""
    yield from _serve(JupyterLab, tmp_path_factory, fast_simulator, artifacts)


@pytest.fixture(scope="module")  # stopped when its tests are done: 2 cores
def notebook7(
    tmp_path_factory: pytest.TempPathFactory, fast_simulator, artifacts
) -> Iterator[NotebookServer]:
    """Jupyter Notebook 7 on loopback, set up like ``lab``."""
    yield from _serve(NotebookServer, tmp_path_factory, fast_simulator, artifacts)


@pytest.fixture(scope="module")  # stopped when its tests are done: 2 cores
def voila(
    tmp_path_factory: pytest.TempPathFactory, fast_simulator, artifacts
) -> Iterator[VoilaServer]:
    """Voila on loopback serving the notebooks as apps, set up like ``lab``."""
    yield from _serve(VoilaServer, tmp_path_factory, fast_simulator, artifacts)


def chromium_or_skip() -> str:
    exe = chromium_path()
    if exe is None:
        pytest.skip(
            "chromium not found (scripts/ensure-chromium installs it; or set VIDU_TEST_CHROMIUM)"
        )
    return exe


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory):
    """One Chromium for the session, with a fresh profile directory."""
    exe = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=exe,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


#: Page errors (uncaught exceptions in the page) a test may see, each proven harmless. Any
#: other page error fails the test that saw it. Each entry: (front end or "*", a regular
#: expression the error's message must match), with the reason in a comment.
HARMLESS_PAGE_ERRORS: list[tuple[str, str]] = [
    # Notebook 7 (notebook 7.6): a start-up race in JupyterLab's shortcuts plugin, reported
    # upstream as jupyter/notebook#7862. It listens to settings changes before its own
    # settings are loaded; the document manager's first settings load (a plugin with a
    # transform) announces itself in that gap, and the listener reads the shortcuts plugin's
    # schema, not loaded yet. Traced here with the debugger: the emitting load comes from
    # `@jupyterlab/docmanager-extension:plugin`'s activation. Harmless: the listener only
    # re-composes shortcuts, and the shortcuts plugin composes them from every loaded plugin
    # right after; test_notebook7 checks the document manager's own shortcut is bound.
    ("notebook7", r"^TypeError: Cannot read properties of undefined \(reading 'schema'\)"),
]
# Not a page error, so not listed: Notebook 7's file browser (/tree) logs "Cannot convert
# undefined or null to object" with console.error. Traced with the debugger to the same
# plugin's activation: it applies its settings (Object.keys of `defaultViewers`) while a
# reload it started on a document-registry change has emptied them; the reload ends by
# announcing the change, which applies the settings again (its handler is connected first).


def unexpected_page_errors(front: str, errors: list[str]) -> list[str]:
    return [
        e
        for e in errors
        if not any(f in ("*", front) and re.search(p, e) for f, p in HARMLESS_PAGE_ERRORS)
    ]


@pytest.fixture
def page(browser_context, request):
    """A new tab; a screenshot is saved to ``test-artifacts/`` when the test fails, and the
    test fails when the page raised an error not listed in ``HARMLESS_PAGE_ERRORS``."""
    tab = browser_context.new_page()
    messages: list[str] = []
    errors: list[str] = []
    tab.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    tab.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}\n{exc.stack}"))
    request.node.console_messages = messages  # for tests that check the console too
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        name = request.node.name.replace("/", "_")
        tab.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        (ARTIFACTS / f"FAILED-{name}.console.txt").write_text("\n".join(messages))
    tab.close()
    front = front_end_of(request)
    unexpected = unexpected_page_errors(front, errors)
    if unexpected:
        pytest.fail(f"the page raised errors ({front}):\n" + "\n\n".join(unexpected))


def front_end_of(request) -> str:
    """Which front end a test drives, from the server fixture it uses."""
    for name in ("lab", "notebook7", "voila"):
        if name in request.fixturenames:
            return name
    return "*"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report

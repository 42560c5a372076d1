"""The console end to end in a real headless browser: `investigator console` on a free port with
its store in tmp, Debian's chromium driven by Playwright. Start the demo investigation, wait for
the hypotheses, discard a finding, rerun, download the report; screenshots of each step go to
out/screenshots (gitignored) as test artifacts. Then the same with Claude chosen as the reasoner,
the console's model base URL pointing at the local model stub (tests/model_stub.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.runner import investigate_bundle
from tests.model_stub import ModelStub, answer, overloaded

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "evals" / "demo" / "bad-deploy"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "out" / "screenshots"
TIMEOUT_MS = 120_000

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (the test extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _investigator() -> list[str]:
    script = Path(sys.executable).parent / "investigator"
    return [str(script)] if script.exists() else [sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())"]


def _wait_healthy(url: str, process: subprocess.Popen, deadline_s: float = 90) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"the console exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the console did not answer on {url} within {deadline_s:.0f} s")


def _still_serving(url: str, deadline_s: float) -> bool:
    """Whether the console still answers after `deadline_s` seconds."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).close()
        except OSError:
            return False
        time.sleep(0.3)
    return True


@contextmanager
def _running_console(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    shutil.copytree(DEMO, bundles / "bad-deploy")
    store = tmp_path / "store" / "investigations.sqlite"
    port = _free_port()
    process = subprocess.Popen(
        [*_investigator(), "console", "--port", str(port), "--store", str(store), "--bundles", str(bundles)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url, store
    finally:
        # `investigator console` forwards SIGTERM to the Streamlit server it started; if it does
        # not stop in time, its whole process group (its own session) is killed.
        process.terminate()
        try:
            process.wait(timeout=15)
            outlived = _still_serving(url, deadline_s=15)
        except subprocess.TimeoutExpired:
            outlived = True
        if outlived:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert not outlived, "the Streamlit server outlived `investigator console` stopped by SIGTERM"


@pytest.fixture
def console(tmp_path: Path):
    with _running_console(tmp_path) as running:
        yield running


TOP_HYPOTHESIS = re.compile(r"^#1\s+checkout\s+\[change\]")


def _hypotheses_tab(page):
    """The page's own Hypotheses tab. After a rerun each revision has its tabs too; the page's
    come first. Scoping to it keeps a locator from also matching the Revisions or Report tab,
    which quote the same hypotheses."""
    return page.get_by_role("tabpanel", name="Hypotheses").first


def _cli(store: Path, *args: str) -> str:
    done = subprocess.run([*_investigator(), *args, "--store", str(store)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_investigation_in_a_real_browser(console, tmp_path: Path) -> None:
    url, store = console
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100}, accept_downloads=True)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            start = page.get_by_role("button", name="Investigate", exact=True)
            expect(start).to_be_visible()
            page.screenshot(path=str(SHOTS / "1-start.png"))
            start.click()

            # On the Hypotheses tab: the Revisions tab lists the same #1 in its own words.
            expect(_hypotheses_tab(page).get_by_text(TOP_HYPOTHESIS)).to_be_visible()
            page.screenshot(path=str(SHOTS / "2-hypotheses.png"), full_page=True)

            inv_id = _cli(store, "list").split()[0]
            shown = json.loads(_cli(store, "show", inv_id, "--json"))
            weakest = shown["hypotheses"][-1]
            elsewhere = {f for h in shown["hypotheses"][:-1] for f in h["supporting_findings"]}
            discarded = next(f for f in weakest["supporting_findings"] if f not in elsewhere)

            domain = next(f["domain"] for f in shown["findings"] if f["id"] == discarded)
            page.get_by_role("tab", name=re.compile(r"^Findings")).click()
            page.get_by_role("tab", name=re.compile(rf"^{domain} \(")).click()
            page.locator(f".st-key-discard-{discarded} button").click()
            expect(page.get_by_text(f"discarded {discarded}")).to_be_visible()
            page.screenshot(path=str(SHOTS / "3-discarded.png"), full_page=True)

            page.get_by_role("button", name="Rerun with my decisions").click()
            expect(page.get_by_text(re.compile(r"revision 2 · awaiting review"))).to_be_visible()
            page.screenshot(path=str(SHOTS / "4-rerun.png"), full_page=True)
            second = json.loads(_cli(store, "show", inv_id, "--json"))
            assert second["revisions"] == [1, 2]
            assert all(discarded not in h["supporting_findings"] for h in second["hypotheses"])

            page.get_by_role("tab", name="Report").click()
            with page.expect_download() as download:
                page.get_by_role("button", name="Download report (Markdown)").click()
            saved = tmp_path / "report.md"
            download.value.save_as(saved)
            report = saved.read_text(encoding="utf-8")
            assert "checkout" in report and inv_id in report
            page.screenshot(path=str(SHOTS / "5-report.png"), full_page=True)
            # After a rerun the revisions are also shown side by side, each with its own tabs: the
            # page's own tab bar comes first.
            page.get_by_role("tab", name="Hypotheses").first.click()
            page.get_by_text("Reasoning, evidence and next steps").first.click()
            expect(page.get_by_text("next steps", exact=True).first).to_be_visible()
            page.wait_for_timeout(800)  # the expander's opening animation
            page.screenshot(path=str(SHOTS / "6-finished.png"))  # the README's docs/console.png
        finally:
            browser.close()


CLAUDE_SAYS = "The checkout deploy shipped a null payment token; every checkout call since fails."


def test_claude_reasoner_in_a_real_browser_with_the_model_stub(tmp_path: Path) -> None:
    # Which finding ids exist comes from the deterministic run of the same bundle, never copied.
    top = investigate_bundle(DEMO).hypotheses[0]
    script = [answer([{"resource": top.resource, "cause": top.cause, "reasoning": CLAUDE_SAYS,
                       "cited_findings": top.supporting_findings, "next_steps": ["roll back the deploy"]}],
                     input_tokens=2000, output_tokens=100)]
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # After the scripted answer the stub is overloaded (529): the rerun falls back.
    with ModelStub(script, default=overloaded()) as stub, _running_console(tmp_path, {
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
        "INVESTIGATOR_REASONER__BASE_URL": stub.url,
        "INVESTIGATOR_REASONER__MAX_RETRIES": "0",
    }) as (url, _store), playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.locator(".st-key-reasoner").get_by_text("claude", exact=True).click()
            page.get_by_role("button", name="Investigate", exact=True).click()

            expect(page.get_by_text("hypotheses written by Claude (claude-sonnet-4-5)")).to_be_visible()
            # Sonnet list prices: 2000 x 3 $/M in + 100 x 15 $/M out = $0.0075.
            expect(page.get_by_text(re.compile(r"^model usage: 1 request\(s\): 2000 input .*~\$0\.0075"))).to_be_visible()
            page.get_by_text("Reasoning, evidence and next steps").first.click()
            # On the Hypotheses tab (the report tab's Markdown quotes the same reasoning).
            expect(_hypotheses_tab(page).get_by_text(CLAUDE_SAYS)).to_be_visible()
            page.screenshot(path=str(SHOTS / "claude-1-answer.png"), full_page=True)
            assert len(stub.messages) == 1

            page.get_by_role("button", name="Rerun with my decisions").click()
            expect(page.get_by_text(re.compile(r"revision 2 · awaiting review"))).to_be_visible()
            expect(page.get_by_text(re.compile(
                r"^Claude unavailable \(HTTP 529 after retries\): showing the deterministic engine's hypotheses$"))).to_be_visible()
            # The engine's own #1 (the Revisions tab repeats it).
            expect(_hypotheses_tab(page).get_by_text(TOP_HYPOTHESIS)).to_be_visible()
            page.screenshot(path=str(SHOTS / "claude-2-fallback.png"), full_page=True)
            assert len(stub.messages) == 2
        finally:
            browser.close()

"""The Features panel, clicked through in JupyterLab with headless Chromium (Playwright)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_notebooks"
# The README's picture; regenerate it with NB2FEAST_UPDATE_SCREENSHOT=1 (CI keeps a copy aside).
SCREENSHOT = ROOT / "docs" / "img" / "features-panel.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PROMOTE_TIMEOUT_MS = 5 * 60 * 1000
STATUSES = {"not exported", "exported", "stale", "parity ok", "mismatch", "hazards", "error"}
# The extension as built in this checkout (`jlpm build:prod` writes it here); pip install . too.
BUILT_EXTENSION = ROOT / "src" / "nb2feast" / "labextension"
LABEXTENSION = ROOT / "labextension"
NOTEBOOK = "churn.ipynb"


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_settings(folder: Path) -> Path:
    """User settings that keep the news toast and update checks out of the screenshot."""
    notification = (
        folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return folder


def wait_until_up(url: str, token: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within 90 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`jupyter lab` on 127.0.0.1, serving a copy of example_notebooks/; killed afterwards."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium")
    if not (EXAMPLES / NOTEBOOK).exists():
        pytest.skip(f"{EXAMPLES / NOTEBOOK} is not written yet")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(
        EXAMPLES, root, ignore=shutil.ignore_patterns("feature_repo", ".ipynb_checkpoints")
    )
    config = base / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"nb2feast": True}}})
    )
    port, token = free_port(), secrets.token_hex(16)
    log = base / "lab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--ip=127.0.0.1", f"--port={port}", "--allow-root", "--no-browser",
        "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={lab_settings(base / 'settings')}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]  # fmt: skip
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(config),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    if (BUILT_EXTENSION / "package.json").is_file():
        # This checkout's build wins over an older one installed in the environment
        # (JupyterLab takes the first extension of a name along JUPYTER_PATH).
        extensions = base / "jupyter_path" / "labextensions"
        extensions.mkdir(parents=True)
        (extensions / "nb2feast").symlink_to(BUILT_EXTENSION, target_is_directory=True)
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(base / "jupyter_path"), os.environ.get("JUPYTER_PATH", "")) if p
        )
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, token, server, log)
        yield Lab(url=url, token=token, root=root)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_promote_from_the_features_panel(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            # Given the example notebook open in JupyterLab
            page.goto(f"{lab.url}lab/tree/{NOTEBOOK}?reset&token={lab.token}")
            expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
            dismiss_news(page)

            # When the Features panel is opened from the left sidebar
            page.locator('.jp-SideBar .lm-TabBar-tab[data-id="nb2feast-features"]').click()
            panel = page.locator("#nb2feast-features")
            expect(panel.get_by_text("Features", exact=True)).to_be_visible()
            cells = panel.get_by_test_id("nb2feast-cell")
            expect(cells).to_have_count(3, timeout=30_000)

            # Then it lists the %%feature cells with their kind and a status badge
            names = [cells.nth(i).get_attribute("data-name") for i in range(3)]
            assert names == ["customer_30d", "customer_profile", "churn_signals"]
            expect(cells.nth(2)).to_contain_text("on demand")
            for i in range(3):
                assert cells.nth(i).get_attribute("data-status") in STATUSES

            # When Promote is pressed, the panel shows progress, then the parity result
            panel.get_by_test_id("nb2feast-promote").click()
            expect(panel.get_by_test_id("nb2feast-progress")).to_be_visible()
            outcome = panel.get_by_test_id("nb2feast-parity").or_(
                panel.get_by_test_id("nb2feast-error")
            )
            expect(outcome).to_be_visible(timeout=PROMOTE_TIMEOUT_MS)
            expect(panel.get_by_test_id("nb2feast-progress")).to_have_count(0, timeout=30_000)
            errors = panel.get_by_test_id("nb2feast-error")
            if errors.count():
                page.screenshot(path=str(lab.root.parent / "failure.png"))
                pytest.fail(
                    f"promote failed ({lab.root.parent / 'failure.png'}): {errors.inner_text()}"
                )
            parity = panel.get_by_test_id("nb2feast-parity")
            expect(parity).to_contain_text(
                "Parity ok" if parity.get_attribute("data-ok") == "true" else "Not ok"
            )
            files = panel.get_by_test_id("nb2feast-file")
            expect(
                files.and_(page.locator('[data-path="feature_repo/definitions.py"]'))
            ).to_have_count(1)
            for i in range(3):
                expect(cells.nth(i)).not_to_have_attribute(
                    "data-status", "not exported", timeout=30_000
                )
                assert cells.nth(i).get_attribute("data-status") in STATUSES

            # And a hazard, when there is one, leads to its cell
            hazards = panel.get_by_test_id("nb2feast-hazard")
            if hazards.count():
                hazards.first.get_by_role("button").click()
                expect(page.locator(".jp-Notebook .jp-Cell.jp-mod-active")).to_have_count(1)

            shot = SCREENSHOT if os.environ.get("NB2FEAST_UPDATE_SCREENSHOT") else lab.root.parent / SCREENSHOT.name
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000

            # And a generated file opens in the lab
            files.and_(page.locator('[data-path="feature_repo/definitions.py"]')).click()
            expect(page.locator(".lm-TabBar-tab", has_text="definitions.py")).to_be_visible(
                timeout=30_000
            )
        finally:
            browser.close()


def dismiss_news(page: Page) -> None:
    """Close the "get notified about Jupyter news?" toast if it shows up anyway."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    no = page.locator(".jp-toast-button", has_text="No")
    try:
        no.wait_for(timeout=3_000)
    except PlaywrightTimeout:
        return
    no.click()


def write_hazard_notebook(path: Path) -> None:
    """A notebook whose one feature cell reads the clock (NB2F201) and whose source is missing."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nb2feast\nimport pandas as pd", id="setup"),
        nbformat.v4.new_code_cell('orders = pd.read_parquet("missing.parquet")', id="load"),
        nbformat.v4.new_code_cell(
            "%%feature stamped --entity customer_id\nstamped = orders.assign(seen_at=pd.Timestamp.now())",
            id="stamped",
        ),
    ]
    nbformat.write(nb, path)


def test_hazards_lead_to_their_cell_and_errors_are_readable(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    write_hazard_notebook(lab.root / "hazard.ipynb")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            # Given a notebook whose feature cell reads the clock, and the Features panel open
            page.goto(f"{lab.url}lab/tree/hazard.ipynb?reset&token={lab.token}")
            expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
            dismiss_news(page)
            page.locator('.jp-SideBar .lm-TabBar-tab[data-id="nb2feast-features"]').click()
            panel = page.locator("#nb2feast-features")

            # Then the cell shows the hazards badge and the hazard its position
            cell = panel.get_by_test_id("nb2feast-cell")
            expect(cell).to_have_attribute("data-status", "hazards", timeout=30_000)
            hazard = panel.get_by_test_id("nb2feast-hazard")
            expect(hazard).to_have_attribute("data-code", "NB2F201")
            expect(hazard).to_contain_text("cell 2, line 2")

            # When the hazard is clicked, its cell becomes the active one
            hazard.get_by_role("button").click()
            expect(page.locator(".jp-Notebook .jp-Cell").nth(2)).to_have_class(
                re.compile("jp-mod-active")
            )

            # When Promote fails, the panel says why in words, not a stack trace
            panel.get_by_test_id("nb2feast-promote").click()
            error = panel.get_by_test_id("nb2feast-error")
            expect(error).to_be_visible(timeout=PROMOTE_TIMEOUT_MS)
            assert "Traceback" not in error.inner_text()
            assert error.inner_text().strip()
        finally:
            browser.close()


def write_leak_notebook(folder: Path) -> Path:
    """A daily sum stamped at the start of its day (`dt.floor("D")`): every row counts
    transactions that had not happened yet at its timestamp. Time travel finds it (NB2F310)."""
    import nbformat
    import numpy as np
    import pandas as pd

    folder = folder / "leak"
    folder.mkdir()
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-03-01", tz="UTC")
    pd.DataFrame(
        {
            "customer_id": rng.integers(1, 9, 400).astype("int64"),
            "event_timestamp": start + pd.to_timedelta(rng.integers(0, 20 * 24 * 60, 400), unit="min"),
            "amount": rng.gamma(2, 20, 400).round(2),
        }
    ).to_parquet(folder / "transactions.parquet")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nb2feast\nimport pandas as pd", id="setup"),
        nbformat.v4.new_code_cell('transactions = pd.read_parquet("transactions.parquet")', id="load"),
        nbformat.v4.new_code_cell(
            "%%feature daily_spend --entity customer_id --ttl 2d\n"
            "daily_spend = (\n"
            '    transactions.assign(event_timestamp=transactions["event_timestamp"].dt.floor("D"))\n'
            '    .groupby(["customer_id", "event_timestamp"], as_index=False)["amount"].sum()\n'
            '    .rename(columns={"amount": "spend_1d"})\n'
            ")",
            id="daily-spend",
        ),
    ]
    path = folder / "leak.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_time_travel_leak_is_never_green_in_the_panel(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    write_leak_notebook(lab.root)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            # Given a notebook whose daily sums are stamped at the start of the day
            page.goto(f"{lab.url}lab/tree/leak/leak.ipynb?reset&token={lab.token}")
            expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
            dismiss_news(page)
            page.locator('.jp-SideBar .lm-TabBar-tab[data-id="nb2feast-features"]').click()
            panel = page.locator("#nb2feast-features")
            cell = panel.get_by_test_id("nb2feast-cell")
            expect(cell).to_have_count(1, timeout=30_000)

            # When promoted (its values match Feast's; time travel finds the leak)
            panel.get_by_test_id("nb2feast-promote").click()
            outcome = panel.get_by_test_id("nb2feast-parity").or_(panel.get_by_test_id("nb2feast-error"))
            expect(outcome).to_be_visible(timeout=PROMOTE_TIMEOUT_MS)
            expect(panel.get_by_test_id("nb2feast-progress")).to_have_count(0, timeout=30_000)
            assert not panel.get_by_test_id("nb2feast-error").count(), panel.inner_text()

            # Then the headline is not "Parity ok", the badge is not green, and NB2F310 is listed
            parity = panel.get_by_test_id("nb2feast-parity")
            expect(parity).to_have_attribute("data-ok", "false")
            headline = panel.get_by_test_id("nb2feast-headline").inner_text()
            assert not headline.startswith("Parity ok"), headline
            # (once the cells are listed again after the promote)
            verdicts = re.compile("^(hazards|mismatch|stale|error)$")
            expect(cell).to_have_attribute("data-status", verdicts, timeout=30_000)
            badge = cell.get_by_test_id("nb2feast-status")
            expect(badge).to_have_attribute("data-tone", "bad")
            leaks = panel.get_by_test_id("nb2feast-hazard").and_(page.locator('[data-code="NB2F310"]'))
            expect(leaks).to_have_count(1)
        finally:
            browser.close()


def test_the_panels_jest_specs_pass() -> None:
    """The panel's verdict and model specs (labextension/src/__tests__), where node_modules is installed."""
    jlpm = shutil.which("jlpm") or str(Path(sys.executable).parent / "jlpm")
    if not (LABEXTENSION / "node_modules" / ".bin" / "jest").exists() or not Path(jlpm).exists():
        pytest.skip("labextension/node_modules is not installed: cd labextension && jlpm install")
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "CI": "true"}
    run = subprocess.run(
        [jlpm, "test"], cwd=LABEXTENSION, capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

"""Printing a statement page to PDF, or a PNG screenshot of it, with headless Chromium (if installed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync")
"""Flags that keep the browser from reaching any network service while it renders a local file."""


class BrowserMissing(RuntimeError):
    """No Chromium on PATH: PDF and PNG output need one."""


def find_chromium() -> str:
    """The path of a Chromium (or Chrome) executable on PATH, or BrowserMissing with how to get one."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("headless Chromium is needed for PDF and PNG output, but none of "
                         f"{', '.join(CANDIDATES)} is on PATH (Debian/Ubuntu: apt-get install chromium)")


def _run(page: Path, *flags: str, timeout: float = 120.0) -> None:
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="cckpi-chromium-") as profile:
        cmd = [chromium, *OFFLINE, f"--user-data-dir={profile}", *flags, page.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.decode(errors='replace')[-800:]}")


def print_pdf(page: Path, pdf: Path) -> Path:
    """Print the HTML page to an A4 PDF (no browser header or footer)."""
    _run(page, "--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}")
    if not pdf.exists():
        raise RuntimeError(f"chromium wrote no {pdf}")
    return pdf


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> Path:
    """A PNG of the top of the page as a 1280-pixel-wide window shows it."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(page, "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    if not png.exists():
        raise RuntimeError(f"chromium wrote no {png}")
    return png

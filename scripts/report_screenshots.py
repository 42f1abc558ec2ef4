"""Render report pages in headless Chromium and save PNG screenshots for review.

Usage: python scripts/report_screenshots.py REPORT_DIR [OUT_DIR]
Needs the Debian package `chromium`; prints one line per page saved.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    report = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else report / "screenshots"
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        print("error: headless Chromium not found; install it with: apt-get install chromium", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for page in sorted(report.glob("*.html")):
        target = out / f"{page.stem}.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                            "--hide-scrollbars", "--window-size=1200,2000", f"--screenshot={target}",
                            page.resolve().as_uri()], capture_output=True, timeout=120)
        print(f"{page.name} -> {target}" if target.exists() else f"error: no screenshot for {page.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

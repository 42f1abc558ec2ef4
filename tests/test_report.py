"""The report: episodes on the acceptance exchange, every part of the page, offline, in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rupture_nlp.cli import app
from rupture_nlp.report import build_reports

EXCHANGE = Path(__file__).parents[1] / "examples" / "coded" / "acceptance_exchange.jsonl"


@pytest.fixture
def report_dir(tmp_path) -> Path:
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(EXCHANGE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_acceptance_exchange_gives_one_unresolved_episode(report_dir):
    (episode,) = [json.loads(line) for line in (report_dir / "episodes.jsonl").read_text().splitlines()]
    assert episode["resolution"] == "unresolved"
    assert episode["contribution_turns"] == [2]
    assert episode["stage_2"].startswith("not observable")
    assert [m["marker"] for m in episode["markers"]] == ["withdrawal", "confrontation"]


def test_session_page_has_every_part_and_nothing_external(report_dir):
    html = (report_dir / "acceptance_exchange.html").read_text()
    for part in ('id="summary"', 'id="timeline"', "<svg", 'id="episodes"', 'id="turns"', 'id="f-marker"', 'id="f-subtype"',
                 'id="f-stage"', 'id="f-uncertain"', 'id="legend"', "not observable from a transcript",
                 "Therapist contribution (antagonizing) at turn 2", "unresolved", "I would like to speak to your director"):
        assert part in html, part
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<link" not in html


def test_dashboard_summary_and_flags(report_dir):
    index = (report_dir / "index.html").read_text()
    assert "Flagged for supervision" in index and "1 unresolved episode(s)" in index
    assert "Ms. Park" in index  # per-therapist summary from the speaker name
    summary = (report_dir / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("session_id,group,turns") and "acceptance_exchange" in summary[1]


def test_group_by_metadata_field(tmp_path):
    rows = [json.loads(line) for line in EXCHANGE.read_text().splitlines()]
    for r in rows:
        r["session_meta"] = {"trainee": "T. Ngo"}
    coded = tmp_path / "c.jsonl"
    coded.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_reports([coded], tmp_path / "out", group_by="trainee")
    assert "T. Ngo" in (tmp_path / "out" / "index.html").read_text()


def test_bad_coded_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"turn": 1}\n')
    result = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and f"{bad}:1" in result.output and "Traceback" not in result.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package 'chromium')")
def test_report_renders_in_headless_chromium_without_console_errors(report_dir, tmp_path):
    page = (report_dir / "acceptance_exchange.html").resolve()
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert "turn-table" in result.stdout
    assert "4 of 4 turns" in result.stdout  # the inline filter script ran
    console_errors = [l for l in result.stderr.splitlines() if "CONSOLE" in l and ("Error" in l or "error" in l)]
    assert console_errors == []

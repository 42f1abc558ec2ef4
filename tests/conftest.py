"""Shared fixtures: the test conversation in every format, and the AnnoMI dev corpus path."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ANNOMI_DIR = Path(os.environ.get("RUPTURE_ANNOMI_DIR", Path(__file__).parents[2] / "shared" / "corpora" / "annomi"))


def conversation_rows() -> list[dict[str, str]]:
    with open(FIXTURES / "conversation.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_docx_paragraphs(path: Path, rows: list[dict[str, str]]) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Session transcript (test fixture)")
    for row in rows:
        document.add_paragraph(f"{row['speaker']}: {row['text']}")
    document.save(str(path))
    return path


def write_docx_table(path: Path, rows: list[dict[str, str]]) -> Path:
    import docx

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Speaker", "Text"
    for row in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = row["speaker"], row["text"]
    document.save(str(path))
    return path


@pytest.fixture
def conversation_files(tmp_path) -> dict[str, Path]:
    """The same conversation in every format the package reads."""
    rows = conversation_rows()
    files = {
        "txt": FIXTURES / "conversation.txt",
        "csv": FIXTURES / "conversation.csv",
        "vtt": FIXTURES / "conversation.vtt",
        "vtt_prefix": FIXTURES / "conversation_prefix.vtt",
        "srt": FIXTURES / "conversation.srt",
        "whisperx": FIXTURES / "conversation_whisperx.json",
        "convokit": FIXTURES / "conversation_utterances.jsonl",
        "docx": write_docx_paragraphs(tmp_path / "conversation.docx", rows),
        "docx_table": write_docx_table(tmp_path / "conversation_table.docx", rows),
    }
    tsv = tmp_path / "conversation.tsv"
    tsv.write_text("\n".join("\t".join(r[k] for k in ("speaker", "text")) for r in [{"speaker": "speaker", "text": "text"}] + rows) + "\n")
    files["tsv"] = tsv
    return files


@pytest.fixture(scope="session")
def annomi_csv() -> Path:
    path = ANNOMI_DIR / "AnnoMI-simple-dev.csv"
    if not path.exists():
        pytest.skip(f"AnnoMI dev corpus not found at {path} (set RUPTURE_ANNOMI_DIR)")
    return path


# Hypothesis: few cases in CI (fast), many with `--hypothesis-profile=thorough` locally.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci")

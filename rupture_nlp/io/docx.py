"""Word documents: paragraphs of `Name: text`, or tables of speaker | text rows.

`python-docx` reads the document; paragraphs go through the plain-text parser (so every
labelling convention it knows works here too), numbered by paragraph; tables with two
or more columns read as speaker, text (a header row such as `Speaker | Text` is skipped;
a third column holding times is used as the start time).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io.base import RawTranscript, ReadOptions, Utterance, parse_time, register
from rupture_nlp.io.txt import looks_like_label, parse_labelled_lines

_HEADER_WORDS = {"speaker", "name", "who", "role", "text", "utterance", "transcript", "time", "timestamp"}


def _table_utterances(document) -> list[Utterance]:
    utterances: list[Utterance] = []
    for t, table in enumerate(document.tables, start=1):
        for r, row in enumerate(table.rows, start=1):
            cells = [c.text.strip() for c in row.cells]
            if len(cells) < 2:
                continue
            time = None
            if len(cells) >= 3 and parse_time(cells[0]) is not None:
                time, cells = parse_time(cells[0]), cells[1:]
            speaker, text = cells[0], " ".join(c for c in cells[1:] if c)
            if r == 1 and {speaker.lower(), text.lower()} & _HEADER_WORDS:
                continue
            if not text:
                continue
            if not speaker:
                if utterances:
                    utterances[-1].text += " " + text
                continue
            utterances.append(Utterance(speaker=speaker, text=text, line=r, start=time, id=f"table{t}-row{r}"))
    return utterances


@register("docx", (".docx",), "Word document: 'Speaker: text' paragraphs or speaker/text tables")
def read_docx(path: Path, options: ReadOptions) -> list[RawTranscript]:
    import docx

    if not zipfile.is_zipfile(path):
        raise TranscriptError(path, None, "not a valid .docx (Word) file; open it in Word and save as .docx, or export as text")
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise TranscriptError(path, None, f"malformed .docx: {exc}") from None
    paragraphs = [(n, p.text) for n, p in enumerate(document.paragraphs, start=1)]
    labelled = [p for p in paragraphs if ":" in p[1] and looks_like_label(p[1].split(":", 1)[0].strip())]
    header: list[str] = []
    if document.tables and len(labelled) < 2:
        utterances = _table_utterances(document)
        if not utterances:
            raise TranscriptError(path, None, "the document's tables hold no speaker/text rows")
    else:
        utterances, header = parse_labelled_lines(paragraphs, path, options.speakers)
    metadata = {"header": header} if header else {}
    return [RawTranscript(path.stem, utterances, str(path), "docx", metadata)]

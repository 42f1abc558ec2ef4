"""The `rupture-nlp` command: thin commands that parse options and call library functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from rupture_nlp.errors import TranscriptError
from rupture_nlp.io import iter_sessions
from rupture_nlp.io.base import ReadOptions
from rupture_nlp.roles import RoleOverrides
from rupture_nlp.segment import SegmentOptions
from rupture_nlp.types import Session

app = typer.Typer(
    help="Code alliance-rupture markers and resolution stages in psychotherapy transcripts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FORMAT_HELP = "Input format (txt, csv, tsv, vtt, srt, whisper, docx, jsonl); default: by file extension."
THERAPIST_HELP = "Speaker label that is the therapist (repeatable)."
CLIENT_HELP = "Speaker label that is a client (repeatable; couples and families have several)."
OTHER_HELP = "Speaker label that is neither (interpreter, observer; repeatable)."
COLUMNS_HELP = "CSV/TSV columns, e.g. 'speaker=Who,text=Said,session=Case,start=Time'."
DEID_HELP = ("Replace names, phones, e-mails, dates, addresses, ages over 89 and ID numbers with placeholders "
             "([NAME-1] …) consistent within each session; session ids become keyed pseudonyms "
             "(key: $RUPTURE_DEID_KEY, else random per run).")
DEID_MAPPING_HELP = ("With --deidentify: also write the placeholder → real value table to this JSON file. "
                     "It re-identifies the output: keep it apart from the output, under access control.")


def parse_columns(spec: str | None) -> dict[str, str]:
    if not spec:
        return {}
    pairs = {}
    for part in spec.split(","):
        if "=" not in part:
            raise typer.BadParameter(f"{part!r} is not FIELD=COLUMN", param_hint="--columns")
        key, value = part.split("=", 1)
        pairs[key.strip().lower()] = value.strip()
    return pairs


class Batch:
    """Reads a batch of inputs, reporting each failing file and going on (one concern: I/O UX)."""

    def __init__(self, paths: list[Path], fmt: str | None, therapist: list[str] | None, client: list[str] | None,
                 other: list[str] | None, columns: str | None, silence_gap: float = 3.0, quiet: bool = False) -> None:
        self.paths = paths
        self.fmt = fmt
        named = set(therapist or []) | set(client or []) | set(other or [])
        self.options = ReadOptions(columns=parse_columns(columns), speakers=named)
        self.segment = SegmentOptions(
            overrides=RoleOverrides(therapist=list(therapist or []), client=list(client or []), other=list(other or [])),
            silence_gap=silence_gap,
        )
        self.quiet = quiet
        self.files = 0
        self.failed: list[TranscriptError] = []

    def sessions(self) -> Iterator[Session]:
        try:
            items = iter_sessions(self.paths, self.fmt, self.options, self.segment)
            for path, result in items:
                self.files += 1
                if isinstance(result, TranscriptError):
                    self.failed.append(result)
                    typer.secho(f"error: {result}", err=True, fg="red")
                    continue
                for session in result:
                    if not self.quiet:
                        for warning in session.warnings:
                            typer.secho(f"warning: {path}: {session.session_id}: {warning}", err=True, fg="yellow")
                    yield session
        except TranscriptError as error:  # e.g. an unknown --format
            self.failed.append(error)
            typer.secho(f"error: {error}", err=True, fg="red")

    def exit_code(self, strict: bool) -> int:
        if self.files == 0 and not self.failed:
            typer.secho("error: no transcript files found in the given paths", err=True, fg="red")
            return 2
        if self.failed and (strict or len(self.failed) >= self.files):
            return 1
        return 0


@app.command()
def segment(
    paths: List[Path] = typer.Argument(..., help="Transcript files or folders (searched recursively)."),
    output: Path = typer.Option(Path("-"), "-o", "--output", help="Turns JSONL to write ('-' = stdout)."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    therapist: Optional[List[str]] = typer.Option(None, "--therapist", help=THERAPIST_HELP),
    client: Optional[List[str]] = typer.Option(None, "--client", help=CLIENT_HELP),
    other: Optional[List[str]] = typer.Option(None, "--other", help=OTHER_HELP),
    columns: Optional[str] = typer.Option(None, "--columns", help=COLUMNS_HELP),
    silence_gap: float = typer.Option(3.0, help="Seconds of silence between utterances recorded as a cue."),
    strict: bool = typer.Option(False, help="Exit non-zero when any file fails (default: only when all fail)."),
) -> None:
    """Read transcripts and write their speaker turns (roles, sentences, cues) as JSONL."""
    from rupture_nlp.types import write_jsonl

    batch = Batch(paths, format, therapist, client, other, columns, silence_gap)
    sink = sys.stdout if str(output) == "-" else None
    if sink is None:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".part")
        with open(tmp, "w", encoding="utf-8") as handle:
            turns = write_jsonl(batch.sessions(), handle)
        tmp.replace(output)
    else:
        turns = write_jsonl(batch.sessions(), sink)
    typer.secho(
        f"{batch.files - len(batch.failed)} of {batch.files} files read, {turns} turns"
        + (f" -> {output}" if sink is None else ""),
        err=True,
    )
    raise typer.Exit(batch.exit_code(strict))


@app.command()
def code(
    paths: List[Path] = typer.Argument(..., help="Transcript files or folders (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for one coded JSONL a session and manifest.json."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: the model shipped in models/)."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    therapist: Optional[List[str]] = typer.Option(None, "--therapist", help=THERAPIST_HELP),
    client: Optional[List[str]] = typer.Option(None, "--client", help=CLIENT_HELP),
    other: Optional[List[str]] = typer.Option(None, "--other", help=OTHER_HELP),
    columns: Optional[str] = typer.Option(None, "--columns", help=COLUMNS_HELP),
    strict: bool = typer.Option(False, help="Exit non-zero when any file fails (default: only when all fail)."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
    deid_mapping: Optional[Path] = typer.Option(None, "--deid-mapping", help=DEID_MAPPING_HELP),
) -> None:
    """Code every client turn (marker, subtype) and therapist turn (stage) of transcripts."""
    from rupture_nlp.coding_run import run_coding
    from rupture_nlp.model import ModelLoadError

    batch = Batch(paths, format, therapist, client, other, columns)
    deid = make_deidentifier(deidentify, deid_mapping)
    try:
        summary = run_coding(batch, output, model, deid=deid)
    except ModelLoadError as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    write_deid_mapping(deid, deid_mapping)
    typer.secho(f"{summary['sessions']} sessions coded from {batch.files - len(batch.failed)} of {batch.files} files "
                f"-> {output} (manifest: {output / 'manifest.json'})", err=True)
    raise typer.Exit(batch.exit_code(strict))


@app.command()
def evaluate(
    gold: Path = typer.Option(..., "--gold", help="Gold coded turns: JSONL file or folder (codebook section 4 format)."),
    pred: Path = typer.Option(..., "--pred", help="Predicted coded turns: JSONL file or folder."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the full report as JSON here."),
    bootstrap: int = typer.Option(1000, help="Session bootstrap resamples for the 95% CIs (0 = none)."),
) -> None:
    """Compare two codings: per-class P/R/F1, macro-F1, Cohen's kappa, confusion, session-bootstrap CIs."""
    import json as _json

    from rupture_nlp.evaluate import evaluate as run, format_report

    try:
        report = run(gold, pred, bootstrap)
    except (OSError, ValueError, KeyError) as exc:
        typer.secho(f"error: cannot read codings: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    typer.echo(format_report(report))
    if json_out:
        json_out.write_text(_json.dumps(report, indent=2))


@app.command()
def train(
    output: Path = typer.Option(Path("models/rupture-minilm"), "-o", "--output", help="Folder for the trained model."),
    base: Optional[Path] = typer.Option(None, "--base", help="Local encoder folder (default: packaged all-MiniLM-L6-v2)."),
    epochs: int = typer.Option(5, help="Training epochs."),
    max_length: int = typer.Option(96, help="Token budget for the turn plus its context."),
    context_turns: int = typer.Option(3, help="Preceding turns given as context."),
    learning_rate: float = typer.Option(1e-4, help="Encoder learning rate."),
    annomi: Optional[Path] = typer.Option(None, "--annomi", help="Folder with AnnoMI-simple-dev.csv (else RUPTURE_ANNOMI_DIR)."),
    seed: int = typer.Option(13, help="Random seed."),
) -> None:
    """Fine-tune the transformer coder on the project corpus (needs the 'train' extra of the package)."""
    from rupture_nlp.training_run import train_and_report

    def log(message: str) -> None:
        typer.echo(message)
        sys.stdout.flush()

    train_and_report(output, base, epochs, max_length, annomi, seed, log=log, context_turns=context_turns,
                     learning_rate=learning_rate)


@app.command()
def report(
    coded: List[Path] = typer.Argument(..., help="Coded JSONL files or folders (output of 'rupture-nlp code')."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the HTML pages, summary.csv, episodes.jsonl."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Session metadata field for the per-group summary "
                                           "(default: the therapist's speaker name)."),
    max_gap: int = typer.Option(3, help="Turns allowed between two markers of one episode."),
    quiet_turns: int = typer.Option(6, help="Unmarked client turns that close an episode."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
    deid_mapping: Optional[Path] = typer.Option(None, "--deid-mapping", help=DEID_MAPPING_HELP),
) -> None:
    """Write a self-contained HTML report per session and a batch dashboard (index.html)."""
    from rupture_nlp.episodes import EpisodeOptions
    from rupture_nlp.report import build_reports

    deid = make_deidentifier(deidentify, deid_mapping)
    try:
        totals = build_reports(coded, output, group_by, EpisodeOptions(max_gap=max_gap, quiet_client_turns=quiet_turns),
                               deid=deid)
    except (OSError, ValueError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    write_deid_mapping(deid, deid_mapping)
    typer.secho(f"{totals['sessions']} session reports, {totals['episodes']} episodes -> {output / 'index.html'}", err=True)


@app.command()
def formats() -> None:
    """List the transcript formats this version reads, with their file extensions."""
    from rupture_nlp.io import READERS

    for spec in READERS.values():
        typer.echo(f"{spec.name:8} {' '.join(spec.extensions):22} {spec.description}")


def make_deidentifier(deidentify: bool, mapping: Optional[Path]):
    """The run's `Deidentifier`, or None; a missing optional library is a clean error, not a traceback."""
    if mapping is not None and not deidentify:
        raise typer.BadParameter("only makes sense with --deidentify", param_hint="--deid-mapping")
    if not deidentify:
        return None
    from rupture_nlp.deid import Deidentifier, MissingDependency

    try:
        return Deidentifier()
    except MissingDependency as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)


def write_deid_mapping(deid, path: Optional[Path]) -> None:
    """Write the re-identification table only when the user named a file for it."""
    if deid is None or path is None:
        return
    import json as _json

    from rupture_nlp.coding_io import atomic_write_text

    atomic_write_text(path, _json.dumps(deid.mappings(), indent=2, ensure_ascii=False))
    typer.secho(f"re-identification table (sensitive) -> {path}", err=True, fg="yellow")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

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
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Worker processes, each loading the model once "
                                "(the CPU cores are split between them)."),
    force: bool = typer.Option(False, "--force", help="Code every session again, even those whose output is current."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings (errors still shown)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Show the progress bar even when "
                                            "stderr is not a terminal, or never (default: on a terminal only)."),
    backend: str = typer.Option("auto", "--backend", help="Inference backend: auto (bf16 where the CPU has bf16 "
                                "instructions, else torch), torch (fp32, identical on every machine), bf16, bf16-compiled "
                                "(torch.compile, 20-40 s more at load, for tens of thousands of turns), int8 (torch int8), "
                                "onnx or onnx-int8 (ONNX Runtime; pip install 'rupture-nlp[fast]')."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
    deid_mapping: Optional[Path] = typer.Option(None, "--deid-mapping", help=DEID_MAPPING_HELP),
) -> None:
    """Code every client turn (marker, subtype) and therapist turn (stage) of transcripts.

    Re-running the same command resumes: sessions whose output records the same input and model are skipped.
    """
    from rupture_nlp.coding_io import OutputBusyError
    from rupture_nlp.coding_run import FatalCodingError, run_coding
    from rupture_nlp.model import ModelLoadError

    batch = Batch(paths, format, therapist, client, other, columns, quiet=quiet)
    deid = make_deidentifier(deidentify, deid_mapping)
    try:
        summary = run_coding(batch, output, model, force=force, workers=workers, progress=progress,
                             backend=backend, deid=deid, keep_mapping=deid_mapping is not None)
    except (ModelLoadError, FatalCodingError, OutputBusyError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted; finished sessions are kept: run the same command again to resume", err=True)
        raise typer.Exit(130)
    finally:  # also after an interruption: the sessions written so far stay re-identifiable
        write_deid_mapping(deid, deid_mapping)
    counts = summary["counts"]
    typer.secho(f"{counts['coded']} sessions coded, {counts['skipped']} already done (skipped), {counts['failed']} "
                f"failed, from {batch.files} files -> {output} (manifest: {output / 'manifest.json'})", err=True)
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
    epochs: int = typer.Option(6, help="Training epochs (6: the shipped model's recipe)."),
    max_length: int = typer.Option(96, help="Token budget for the turn plus its context."),
    context_turns: int = typer.Option(3, help="Preceding turns given as context."),
    learning_rate: float = typer.Option(1e-4, help="Encoder learning rate."),
    annomi: Optional[Path] = typer.Option(None, "--annomi", help="Folder with AnnoMI-simple-dev.csv (else RUPTURE_ANNOMI_DIR)."),
    seed: int = typer.Option(13, help="Random seed."),
    pooling: str = typer.Option("turn_and_mean", help="How the heads read the encoder: 'turn_and_mean' (the turn's "
                                "own tokens beside every token) or 'mean' (every token; the shipped model's)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Corpus folder laid out like the project's data/ "
                                        "(authored/, labels/, imported/, splits.json); default: the project's."),
    epoch_choice: str = typer.Option("client_and_stage", "--epoch-choice", help="Dev figure that picks the epoch kept: "
                                     "'client_and_stage' (mean of both macro-F1s) or 'client' (marker alone, the "
                                     "shipped model's rule)."),
) -> None:
    """Fine-tune the transformer coder on the project corpus or --data FOLDER (needs the 'train' extra)."""
    from rupture_nlp.training_run import train_and_report

    def log(message: str) -> None:
        typer.echo(message)
        sys.stdout.flush()

    if data is not None and not data.is_dir():
        typer.secho(f"error: {data}: not a folder", err=True, fg="red")
        raise typer.Exit(2)
    from rupture_nlp.model import POOLINGS
    from rupture_nlp.train import EPOCH_CHOICES

    for option, value, allowed in (("--pooling", pooling, POOLINGS), ("--epoch-choice", epoch_choice, EPOCH_CHOICES)):
        if value not in allowed:  # checked before the corpus loads and the baseline fits
            typer.secho(f"error: {option} {value}: expected one of {', '.join(allowed)}", err=True, fg="red")
            raise typer.Exit(2)
    try:
        train_and_report(output, base, epochs, max_length, annomi, seed, log=log, context_turns=context_turns,
                         learning_rate=learning_rate, data_dir=data, pooling=pooling,
                         epoch_choice=epoch_choice)
    except (OSError, TranscriptError) as exc:  # a corpus that cannot be read, or an output that cannot be written
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)


@app.command()
def split(
    data: Optional[Path] = typer.Option(None, "--data", help="Corpus folder laid out like the project's data/ (default: the project's)."),
    annomi: Optional[Path] = typer.Option(None, "--annomi", help="Folder with AnnoMI-simple-dev.csv (else RUPTURE_ANNOMI_DIR)."),
) -> None:
    """Give the corpus's new sessions a train/dev/test split in splits.json; existing ones keep theirs."""
    from rupture_nlp.corpus import DATA_DIR
    from rupture_nlp.splits import assign_splits

    data = data or DATA_DIR
    if not data.is_dir():
        typer.secho(f"error: {data}: not a folder", err=True, fg="red")
        raise typer.Exit(2)
    try:
        result = assign_splits(data, annomi)
    except (OSError, TranscriptError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    counts = ", ".join(f"{name} {result['counts'].get(name, 0)}" for name in ("train", "dev", "test"))
    typer.echo(f"{result['new']} new session(s) assigned; {data / 'splits.json'}: {counts}")
    if result["training_only_elsewhere"]:
        typer.secho(f"note: {len(result['training_only_elsewhere'])} session(s) marked \"purpose\": \"training\" were "
                    f"dealt to dev or test before they were marked and keep that split: "
                    f"{', '.join(result['training_only_elsewhere'])} (edit splits.json to move them)", err=True)


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
    except (OSError, ValueError, TranscriptError) as exc:
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
    """Write the re-identification table only when the user named a file for it.

    An existing table there is extended, not replaced: a resumed `code` run re-codes only
    some sessions, and the tables of the sessions it skips came from the earlier run.
    """
    if deid is None or path is None:
        return
    import json as _json

    from rupture_nlp.coding_io import atomic_write_text

    table: dict = {}
    if path.exists():
        try:
            table = _json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            typer.secho(f"error: {path}: cannot extend the existing re-identification table ({error}); "
                        "move it away and run again", err=True, fg="red")
            raise typer.Exit(2)
    table.update(deid.mappings())
    atomic_write_text(path, _json.dumps(table, indent=2, ensure_ascii=False))
    typer.secho(f"re-identification table (sensitive) -> {path}", err=True, fg="yellow")


@app.command()
def export(
    coded: List[Path] = typer.Argument(..., help="Coded JSONL files or folders (output of 'rupture-nlp code')."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write (csv, jsonl, parquet) or folder (eaf)."),
    format: str = typer.Option("csv", "--format", "-f", help="csv | jsonl | parquet | eaf (ELAN, one file a session)."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
) -> None:
    """Export coded sessions as a table (CSV for Excel, JSONL, Parquet) or ELAN .eaf files."""
    from rupture_nlp.exports import MissingExtra, deidentify_transform, run_export

    deid = make_deidentifier(deidentify, None)
    try:
        paths = run_export(coded, output, format, transforms=[deidentify_transform(deid)] if deid else [])
    except (TranscriptError, MissingExtra, ValueError, OSError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    typer.secho(f"{len(paths)} file(s) written -> {output}", err=True)


@app.command()
def sample(
    coded: List[Path] = typer.Argument(..., help="Coded JSONL files or folders (output of 'rupture-nlp code')."),
    uncertain: int = typer.Option(..., "--uncertain", help="How many turns to put on the sheet."),
    output: Path = typer.Option(..., "-o", "--output", help="Coding sheet to write: .csv (UTF-8 with BOM) or .xlsx."),
    by: str = typer.Option("margin", "--by", help="margin (1 - gap between the top two probabilities) or entropy."),
    per_session_max: int = typer.Option(5, "--per-session-max", help="At most this many turns from one session (0 = no cap)."),
    context: int = typer.Option(3, "--context", help="Preceding turns shown above each turn to code."),
    blind: bool = typer.Option(False, "--blind", help="Leave out the model's own code (avoids anchoring the coder)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Data folder whose imported codes are skipped (default: the project's data/)."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
) -> None:
    """Write the most uncertain coded turns, spread across sessions, as a sheet for a human coder."""
    from rupture_nlp.active import sample_sheet
    from rupture_nlp.corpus import DATA_DIR
    from rupture_nlp.exports import MissingExtra, deidentify_transform

    deid = make_deidentifier(deidentify, None)
    try:
        stats = sample_sheet(coded, output, uncertain, by, per_session_max or None, context, blind, data or DATA_DIR,
                             transforms=[deidentify_transform(deid)] if deid else [])
    except (TranscriptError, MissingExtra, ValueError, OSError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    typer.secho(f"{stats['items']} turns from {stats['sessions']} sessions ({stats['turns']} coded turns, "
                f"{stats['excluded']} already imported skipped) -> {output}", err=True)


@app.command("import")
def import_(
    sheet: Path = typer.Argument(..., help="A coding sheet from 'rupture-nlp sample', filled in by a human coder."),
    source: str = typer.Option(..., "--source", help="Name of the imported source (a folder under data/imported/)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Data folder to merge into (default: the project's data/)."),
) -> None:
    """Check a filled coding sheet against the codebook and add its codes to the training corpus."""
    from rupture_nlp.corpus import DATA_DIR
    from rupture_nlp.exports import MissingExtra
    from rupture_nlp.imported import import_sheet

    try:
        stats = import_sheet(sheet, source, data or DATA_DIR)
    except (TranscriptError, MissingExtra, ValueError, OSError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        typer.secho("nothing was imported", err=True)
        raise typer.Exit(2)
    typer.secho(f"{stats['coded_rows']} coded rows from {stats['sessions']} sessions: {stats['new']} new, "
                f"{stats['changed']} changed, {stats['unchanged']} unchanged; {stats['files_written']} files written "
                f"under {data or DATA_DIR}", err=True)

@app.command()
def agree(
    codings: List[Path] = typer.Argument(..., help="Two or more codings: coded JSONL files or folders, CSV/TSV "
                                         "(session, turn, code or marker/subtype/stage), ELAN .eaf."),
    task: str = typer.Option("all", "--task", help="marker, subtype, stage or all."),
    window_minutes: float = typer.Option(5.0, "--window-minutes", help="Segment length when turns have times."),
    window_turns: Optional[int] = typer.Option(None, "--window-turns", help="Cut into windows of N turns instead "
                                               "(default when turns have no times: 20)."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Coder (name or position) taken as gold: "
                                            "per-class precision/recall/F1 of the others against it."),
    turns: Optional[Path] = typer.Option(None, "--turns", help="Turns JSONL (from 'segment' or 'code') that places "
                                         "ELAN annotations and gives roles and times."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the full report as JSON here."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also write each coder's 3RS segment sheet (CSV) "
                                         "here, and session ratings beside it (<name>_sessions.csv)."),
    bootstrap: int = typer.Option(1000, help="Session bootstrap resamples for the 95% CIs (0 = none)."),
) -> None:
    """Agreement among coders: kappa and per-class agreement per pair, Krippendorff's alpha, segment ICC (3RS)."""
    import json as _json

    from rupture_nlp.agree import agree as run, format_report, sheet_tables
    from rupture_nlp.coding_io import atomic_write_text
    from rupture_nlp.salience import write_sheet

    tasks = ["marker", "subtype", "stage"] if task == "all" else [task]
    if any(t not in ("marker", "subtype", "stage") for t in tasks):
        raise typer.BadParameter("one of marker, subtype, stage, all", param_hint="--task")
    if len(codings) < 2:
        raise typer.BadParameter("give at least two codings to compare", param_hint="CODINGS")
    try:
        report, coders, table = run(codings, tasks, window_minutes, window_turns, reference, turns, bootstrap)
    except TranscriptError as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    except ValueError as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    typer.echo(format_report(report))
    if json_out:
        atomic_write_text(json_out, _json.dumps(report, indent=2))
    if sheet:
        paths = write_sheet(sheet, *sheet_tables(coders, table, window_minutes, window_turns))
        typer.secho(f"3RS sheet -> {paths[0]} (sessions: {paths[1]})", err=True)


@app.command("sheet")
def sheet_command(
    coding: Path = typer.Argument(..., help="One coding: coded JSONL file or folder, CSV/TSV, or .eaf with --turns."),
    output: Path = typer.Option(..., "-o", "--output", help="Segment sheet CSV; session ratings go to <name>_sessions.csv."),
    window_minutes: float = typer.Option(5.0, "--window-minutes", help="Segment length when turns have times."),
    window_turns: Optional[int] = typer.Option(None, "--window-turns", help="Cut into windows of N turns instead."),
    turns: Optional[Path] = typer.Option(None, "--turns", help="Turns JSONL giving roles and times (needed for .eaf)."),
) -> None:
    """Write the 3RS segment sheet (1-5 salience per marker and subtype) and session ratings of one coding."""
    from rupture_nlp.agree import load_coders, sheet_tables
    from rupture_nlp.codes.normalize import coded_only, resolve_roles
    from rupture_nlp.salience import write_sheet

    try:
        coders, table = load_coders([coding], turns)
        resolve_roles([c.rows for c in coders], table)
        coders[0].rows = coded_only(coders[0].rows)
        paths = write_sheet(output, *sheet_tables(coders, table, window_minutes, window_turns))
    except (TranscriptError, ValueError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2)
    typer.secho(f"3RS sheet -> {paths[0]} (sessions: {paths[1]})", err=True)


@app.command("ray-code")
def ray_code(
    turns: Path = typer.Argument(..., help="Turns JSONL from 'rupture-nlp segment' (or Parquet, same columns); file or folder."),
    output: Path = typer.Option(..., "-o", "--output", help="New folder for the coded shards and manifest.json."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: the model shipped in models/)."),
    actors: int = typer.Option(2, "--actors", help="Coder actors (each loads the model once)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Turns sent to an actor at a time."),
    cpus: float = typer.Option(1.0, "--cpus-per-actor", help="CPU cores (torch threads) per actor."),
    out_format: str = typer.Option("jsonl", "--to", help="Output format: jsonl (as 'code' writes) or parquet."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join, e.g. 'auto'; default: a local Ray."),
    deidentify: bool = typer.Option(False, "--deidentify", help=DEID_HELP),
) -> None:
    """Code a turns file on Ray Data (needs the ray extra): an actor pool, whole sessions kept for context."""
    try:
        from rupture_nlp.integrations.ray import code_corpus
    except ImportError:
        typer.secho("error: Ray is not installed; pip install 'rupture-nlp[ray]'", err=True, fg="red")
        raise typer.Exit(2)
    from rupture_nlp.model import ModelLoadError

    deid = make_deidentifier(deidentify, None)
    try:
        manifest = code_corpus(turns, output, model, actors, batch_size, out_format, cpus, address=address, deid=deid)
    except (TranscriptError, ModelLoadError, FileExistsError, ValueError) as error:
        typer.secho(f"error: {error}", err=True, fg="red")
        raise typer.Exit(2 if isinstance(error, ModelLoadError) else 1)
    typer.secho(f"{manifest['turns']} turns coded in {manifest['seconds']} s ({manifest['turns_per_second']} turns/s) "
                f"-> {output} (manifest: {output / 'manifest.json'})", err=True)


@app.command()
def bench(
    turns: int = typer.Option(2000, "--turns", help="Test-split turns to code (with their context)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: the model shipped in models/)."),
    quantized: Optional[str] = typer.Option(None, "--quantized", help="Reduced-precision backend to measure: bf16, "
                                            "bf16-compiled, int8 or onnx-int8 (default: bf16 where the CPU has it, else onnx-int8 "
                                            "when the fast extra is installed, else int8)."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="Interleaved rounds of the four configurations; medians are "
                               "reported, so a ratio compares runs minutes apart."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (turns/s per configuration) and nothing else."),
) -> None:
    """Measure turns/s and peak RSS of the transformers pipeline (batch 1, 32) and the engine (fp32, quantized)."""
    import json as _json

    from rupture_nlp.bench import format_table, run_bench, summary

    try:
        result = run_bench(turns, model, quantized, rounds=rounds)
    except (OSError, ValueError, RuntimeError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    typer.echo(_json.dumps(summary(result)) if json_out else format_table(result))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

from test_deid_outputs import PLANTED, leaks, runs, tiny_model  # noqa


def test_count(runs):
    keys = ("coded", "report", "plain_report", "exports")
    files = [p for k in keys for p in runs[k].rglob("*") if p.is_file()]
    print("\nFILES", len(files), "STRINGS", len(PLANTED), "LEAKS", sum(len(leaks(runs[k])) for k in keys))
    for k in keys:
        print(k, sorted(p.relative_to(runs[k]).as_posix() for p in runs[k].rglob("*") if p.is_file()))

"""Benchmark the coder against the transformers pipeline: `python scripts/bench.py [--turns N] [--model DIR] [--json]`.

The same code as `rupture-nlp bench` (see `rupture_nlp/bench.py`)."""

from rupture_nlp.bench import main

if __name__ == "__main__":
    main()

"""What several benchmarks share: a child process that reports one ``RESULT`` line, a report
printed as aligned rows or one JSON object, a settings dataclass as command-line flags, beam
search run for a fixed number of steps, and the check for the real TopicVD data.

The benchmarks run as scripts (``python benchmarks/NAME.py``), so this folder is on their path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_child(code: str, argv: list[str], env: dict[str, str]) -> dict:
    """Run ``python -c code argv...`` in the repository and return the JSON of its
    ``RESULT {...}`` line (a fresh process: its peak memory is its own)."""
    r = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, cwd=ROOT
    )
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"child failed (exit {r.returncode}): {r.stderr[-3000:]}")


def print_report(report: dict[str, Any], as_json: bool, width: int) -> None:
    """One JSON object, or one ``key: value`` row per entry with keys right-aligned."""
    if as_json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>{width}}: {value}")


def add_settings_flags(parser: argparse.ArgumentParser, defaults: object) -> None:
    """One ``--field-name`` flag per field of the settings dataclass instance ``defaults``
    (tuples as comma-separated text)."""
    for name, value in defaults.__dict__.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, tuple):
            parser.add_argument(flag, default=",".join(map(str, value)), help="comma-separated")
        else:
            kind = type(value) if value is not None else str
            parser.add_argument(flag, type=kind, default=value)


def settings_from_flags(defaults: object, args: argparse.Namespace) -> Any:
    """The settings that :func:`add_settings_flags`' flags chose: ``defaults``' class with
    every field from ``args`` (``variants`` as names, ``cues`` as whole numbers)."""
    args.variants = tuple(v for v in args.variants.split(",") if v)
    args.cues = tuple(int(x) for x in args.cues.split(","))
    return type(defaults)(**{k: getattr(args, k) for k in defaults.__dict__})


def parse_decode_args(ap: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the flags every decoding benchmark has (``--vocab``, ``--variant``, ``--threads``,
    ``--json``), parse, and give torch the threads asked for."""
    import torch

    ap.add_argument("--vocab", type=int, default=8000, help="source and target vocabulary")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def fixed_length_search(model: Any, memory: dict, config: Any, beam: int, steps: int) -> Any:
    """Beam search that runs exactly ``steps`` tokens per hypothesis (``min_len = max_len``;
    random weights never stop early on their own), padding and BOS never chosen."""
    from vloc.generation import beam_search

    return beam_search(
        model,
        memory,
        bos=config.bos_id,
        eos=config.eos_id,
        beam_size=beam,
        max_len=steps,
        min_len=steps,
        banned=(config.pad_id, config.bos_id),
    )


def topicvd_missing(data: Path) -> bool:
    """True, after saying so, when the TopicVD validation set is not at ``data``."""
    if (data / "valid.en").is_file():
        return False
    print(f"skipped: TopicVD data not found at {data}")
    return True

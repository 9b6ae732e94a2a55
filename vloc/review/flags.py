"""QC flags shown on the review page: a checker's output, by default ``vloc check``'s.

The interface with a subtitle checker is a list of flagged cues::

    [{"cue": 12, "rules": ["reading-speed", {"rule": "line-length", "message": "...",
                                            "severity": "error"}]}, ...]

``cue`` is the cue's 1-based number in the *translation*; each rule is an id, or an object with
an id (``rule``) and optionally a ``message`` and a ``severity`` (``error`` | ``warning`` |
``info``; default ``warning``). A JSON file holds that list, or an object with that list under
``"flags"`` — or under ``"flagged"``, with each cue's ``"levels"`` and ``"details"`` maps (rule
id → severity, message), which is the shape of the per-cue QC report of a style checker
(``vloc check --json``), so its report can be passed as it is. Given such flags, the page shows
them and computes none itself.

Without them the page runs ``vloc check``'s rules (:func:`vloc.style.check.check_file`, the
default profile) on the translation: one rule set for the command and the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.errors import InputError

SEVERITIES = ("error", "warning", "info")
MAX_QC_BYTES = 64 << 20  # a checker's report for a 3-hour film is well under 1 MB
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


@dataclass(frozen=True)
class Flag:
    """One QC finding on one cue."""

    rule: str  # the rule's id, e.g. "reading-speed"
    message: str = ""  # what is wrong, for the reviewer ("" when the checker gave none)
    severity: str = "warning"  # one of SEVERITIES

    def to_json(self) -> list[str]:
        return [self.rule, self.message, self.severity]


def _bad(where: str, problem: str, path: Path | None) -> InputError:
    return InputError(
        f"QC flags: {where}: {problem}; expected a list of "
        '{"cue": N, "rules": ["rule-id" | {"rule": ..., "message": ..., "severity": ...}]}',
        path=path,
    )


def _rule(item: Any, where: str, path: Path | None, entry: dict[str, Any]) -> Flag:
    if isinstance(item, str):
        levels, details = entry.get("levels"), entry.get("details")
        item = {"rule": item}
        if isinstance(levels, dict) and item["rule"] in levels:
            item["severity"] = levels[item["rule"]]
        if isinstance(details, dict) and item["rule"] in details:
            item["message"] = details[item["rule"]]
    if not isinstance(item, dict):
        raise _bad(where, f"a rule must be an id or an object, got {type(item).__name__}", path)
    rule, message = item.get("rule"), item.get("message", "")
    severity = item.get("severity", "warning")
    if not isinstance(rule, str) or not _RULE_ID.match(rule):
        raise _bad(where, f"rule id {rule!r} is not a short id (letters, digits, -_.:/)", path)
    if not isinstance(message, str):
        raise _bad(where, "a message must be text", path)
    if severity not in SEVERITIES:
        raise _bad(where, f"severity {severity!r} is not one of {', '.join(SEVERITIES)}", path)
    return Flag(rule, message, severity)


def parse_qc(flags: Any, n_cues: int, *, path: Path | None = None) -> dict[int, list[Flag]]:
    """Check a checker's flags (see the module docstring) → {cue number: flags}.

    Raises :class:`InputError` naming the item at fault (and the file, with ``path``)."""
    if isinstance(flags, dict) and "flags" in flags:
        flags = flags["flags"]
    elif isinstance(flags, dict) and "flagged" in flags:  # a style checker's report
        flags = flags["flagged"]
    if not isinstance(flags, list):
        raise _bad("top level", f"got {type(flags).__name__}", path)
    out: dict[int, list[Flag]] = {}
    for k, entry in enumerate(flags):
        where = f"item {k + 1}"
        if not isinstance(entry, dict):
            raise _bad(where, f"got {type(entry).__name__}", path)
        cue, rules = entry.get("cue"), entry.get("rules")
        if not isinstance(cue, int) or isinstance(cue, bool) or not 1 <= cue <= n_cues:
            raise _bad(
                where, f"cue {cue!r} is not a cue number of the translation 1..{n_cues}", path
            )
        if not isinstance(rules, list):
            raise _bad(where, "rules must be a list", path)
        out.setdefault(cue, []).extend(_rule(r, f"{where} (cue {cue})", path, entry) for r in rules)
    return out


def read_qc(path: str | Path, n_cues: int) -> dict[int, list[Flag]]:
    """:func:`parse_qc` of a JSON file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_QC_BYTES:
            raise InputError(f"QC flags file is over {MAX_QC_BYTES} bytes", path=path)
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError("QC flags file not found", path=path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"QC flags file is not UTF-8 text ({e.reason})", path=path) from None
    except ValueError as e:
        raise InputError(f"QC flags file is not JSON ({e})", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the QC flags: {e.strerror or e}", path=path) from None
    return parse_qc(data, n_cues, path=path)

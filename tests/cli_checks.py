"""What a refused command looks like from outside: exit 1, no traceback, one ``error:`` line."""

from __future__ import annotations


def one_error_line(result, *needles: str) -> str:
    """The single ``error:`` line of a CLI run (a ``CliRunner`` result) that failed with exit 1
    and no traceback (warnings may stand beside it); each of ``needles`` is in it."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output + result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]

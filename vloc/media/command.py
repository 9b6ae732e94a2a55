"""ffmpeg command lines, built with ffmpeg-python's graph (``ffmpeg.input(...).output(...)``).

ffmpeg-python only builds the argv here (``compile()``); the callers run it with their own
``subprocess`` calls, because they stream frames through pipes, keep the tail of stderr for
one-line errors and kill ffmpeg when a consumer stops early, which ``ffmpeg.run`` does not do.

Layout of the argv: ``<executable> <global options> <input options> -i <source>
[-map 0:<stream>] [-f <format>] <output options, sorted by name> <target>``. The global options
go right after the executable (ffmpeg-python's ``global_args`` would append them at the end);
input options stay in front of ``-i`` (so ``-ss`` there is a fast keyframe seek); the order of
output options does not matter to ffmpeg. Sources are passed as absolute paths by the callers,
so a file named ``-film.mp4`` is never read as an option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

QUIET = ("-nostdin", "-v", "error")  # no keyboard interaction, errors only on stderr


def ffmpeg_command(
    source: str,
    target: str,
    *,
    executable: str,
    global_options: Sequence[str] = QUIET,
    input_options: Mapping[str, object] | None = None,
    output_options: Mapping[str, object] | None = None,
    stream: int | None = None,
) -> list[str]:
    """The argv of one ffmpeg run reading ``source`` and writing ``target``.

    ``input_options`` / ``output_options`` map option names without the dash to values
    (``None`` for a flag such as ``an``; ``format`` becomes ``-f``); ``stream`` maps only that
    absolute stream index of the input (``-map 0:<stream>``).
    """
    import ffmpeg  # ffmpeg-python: 0.1 s, kept out of `vloc --help`

    node = ffmpeg.input(source, **dict(input_options or {}))
    if stream is not None:
        node = node[str(stream)]
    out = ffmpeg.output(node, target, **dict(output_options or {}))
    return out.compile(cmd=[executable, *global_options])

"""Deliverable subtitles: style profiles, counting, line breaking, budgets and QC.

* :mod:`~vloc.style.profiles`, :mod:`~vloc.style.profile_file`: the limits a file is delivered
  to (shipped ``default`` and ``streaming``, or a client's TOML file);
* :mod:`~vloc.style.measure`: characters per line and per second, counted as a reader reads;
* :mod:`~vloc.style.linebreak`, :mod:`~vloc.style.segment`: at most two balanced lines broken
  at natural points, never inside a Chinese or Japanese word;
* :mod:`~vloc.style.budget`: how much text a cue can hold (for engines' prompts);
* :mod:`~vloc.style.check`, :mod:`~vloc.style.scenes`, :mod:`~vloc.style.scripts`: ``vloc
  check``, shot changes, scripts;
* :mod:`~vloc.style.chinese`: Traditional Chinese through OpenCC.
"""

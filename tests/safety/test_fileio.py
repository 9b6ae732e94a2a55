from __future__ import annotations

import os
import stat

import pytest

from vloc.errors import CacheError, InputError, VlocError, WeightsError
from vloc.fileio import atomic_path, atomic_write, atomic_write_text, read_json


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_text(tmp_path / "a.txt", "x")
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "a.txt") == _mode(plain)
    assert _mode(tmp_path / "b.bin") == _mode(plain)


def test_failed_write_keeps_previous_version_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.srt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as f:
        f.write("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.srt"]


def test_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(VlocError, match="cannot write here"):
        atomic_write_text(blocker / "sub" / "x.txt", "x")


# ------------------------------------------------------------------------------ read_json


def test_read_json_reads_a_file_and_drops_a_bom(tmp_path):
    path = tmp_path / "info.json"
    path.write_bytes(b'\xef\xbb\xbf{"format": 2, "names": ["a", "b"]}')
    assert read_json(path, what="model metadata") == {"format": 2, "names": ["a", "b"]}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json(tmp_path / "list.json", what="list") == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "model metadata not found"),
        (b'{"format": 2,', "the model metadata is not valid JSON (Expecting property name "),
        (b"\xff\xfe{}", "the model metadata is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "the model metadata is nested too deeply"),
        (b"9" * 5000, "the model metadata is not readable JSON"),
    ],
)
def test_read_json_names_the_file_and_the_problem_in_one_line(tmp_path, content, message):
    path = tmp_path / "info.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_json(path, what="model metadata")
    assert str(e.value).startswith(f"{path}: {message}")
    assert "\n" not in str(e.value)
    assert read_json(path, what="model metadata", default="again") == "again"


def test_read_json_keeps_the_callers_error_class_limit_and_object_check(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('["not", "an", "object"]')
    with pytest.raises(WeightsError, match=r"config\.json: the config is not a JSON object "
                       r"\(found an array\)"):  # fmt: skip
        read_json(path, what="config", error=WeightsError, require_object=True)
    assert read_json(path, what="config", require_object=True, default={}) == {}
    path.write_text('{"pad": "' + "x" * 100 + '"}')
    with pytest.raises(CacheError, match="over its limit of 64 bytes"):
        read_json(path, what="config", limit=64, error=CacheError)
    with pytest.raises(InputError, match="the config is a folder"):
        read_json(tmp_path, what="config")


def _bad_tokenizer(folder):
    from vloc.tokenization import BACKEND_FILE, META_FILE, Tokenizer

    (folder / BACKEND_FILE).write_text("{}")
    return folder / META_FILE, lambda: Tokenizer.load(folder), InputError


def _bad_summarizer_info(folder):
    from vloc.summarizer.data import INFO_FILE, read_model_info

    return folder / INFO_FILE, lambda: read_model_info(folder), InputError


def _bad_feature_meta(folder):
    from vloc.features.store import read_meta

    return folder / "entry.json", lambda: read_meta(folder / "entry.safetensors"), CacheError


def _bad_model_config(folder):
    from vloc.encoder_decoder import CONFIG_FILE, MODEL_FILE, load_module_folder

    (folder / MODEL_FILE).write_bytes(b"")
    load = lambda: load_module_folder(folder, dict, kind="translator")  # noqa: E731
    return folder / CONFIG_FILE, load, WeightsError


def _bad_align_info(folder):
    from vloc.align.model import INFO_FILE, read_align_info

    return folder / INFO_FILE, lambda: read_align_info(folder), WeightsError


@pytest.mark.parametrize(
    "make",
    [_bad_tokenizer, _bad_summarizer_info, _bad_feature_meta, _bad_model_config, _bad_align_info],
)
def test_a_damaged_json_file_of_a_reader_is_one_line_naming_it(tmp_path, make):
    path, read, error = make(tmp_path)
    path.write_text('{"format": 1,,}', encoding="utf-8")
    with pytest.raises(error) as e:
        read()
    assert type(e.value) is error
    assert str(e.value).startswith(f"{path}: the ") and "is not valid JSON (" in str(e.value)
    assert "\n" not in str(e.value)


def test_damaged_memos_and_caches_are_recomputed_not_fatal(tmp_path):
    import hashlib

    from vloc.backbones.weights import HASH_CACHE_NAME, cached_sha256
    from vloc.workspace import vloc_home

    weights = tmp_path / "w.pt"
    weights.write_bytes(b"w" * 100)
    memo = vloc_home() / HASH_CACHE_NAME
    memo.parent.mkdir(parents=True, exist_ok=True)
    for damaged in (b"[1, 2]", b"\xff\xfe", b"{nope"):
        memo.write_bytes(damaged)
        assert cached_sha256(weights) == hashlib.sha256(b"w" * 100).hexdigest()
        assert isinstance(read_json(memo, what="memo"), dict)  # rewritten whole

"""Atomic output: a failure while writing never leaves a half-written file or folder and never
destroys what was there; what is written gets the permissions of any other new file."""

from __future__ import annotations

import os
import stat

import pytest

from deepclust._io import atomic_directory, atomic_open, atomic_write_json, atomic_write_text


class Crash(Exception):
    pass


def test_a_failed_file_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"acc": 0.9})
    old = target.read_bytes()
    with pytest.raises(Crash), atomic_open(target, "w", encoding="utf-8") as fh:
        fh.write('{"acc": 0.')  # half of the new content
        raise Crash
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"):
        with atomic_open(target, "a"):
            pass


def test_a_failed_folder_write_keeps_the_old_folder(tmp_path):
    run = tmp_path / "run"
    with atomic_directory(run) as tmp:
        atomic_write_text(tmp / "labels.csv", "old\n")
    with pytest.raises(Crash), atomic_directory(run, overwrite=True) as tmp:
        atomic_write_text(tmp / "labels.csv", "new\n")
        raise Crash
    assert (run / "labels.csv").read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with atomic_directory(run, overwrite=True) as tmp:  # replaced only once complete
        atomic_write_text(tmp / "labels.csv", "new\n")
    assert (run / "labels.csv").read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_output_gets_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "run") as tmp:
            atomic_write_text(tmp / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755  # not mkdtemp's private 0700
    assert stat.S_IMODE((tmp_path / "run" / "a.txt").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_output_under_a_file_is_explained(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        with atomic_directory(tmp_path / "file" / "sub" / "run"):
            pass
    assert (tmp_path / "file").read_text() == "x"

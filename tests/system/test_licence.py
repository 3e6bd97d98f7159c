# SPDX-License-Identifier: BSD-2-Clause
"""The tree says under which licence it may be shipped (issue 13): a
BSD-2-Clause LICENSE, the same in debian/copyright, and an SPDX line near
the top of every source file (C, Python, shell, make, man pages, configs,
Markdown), so a file copied out of the tree still carries it."""

import subprocess
from pathlib import Path

import pytest

from conftest import REPO

TAG = "SPDX-License-Identifier: BSD-2-Clause"
SOURCE_SUFFIXES = {".c", ".h", ".py", ".sh", ".pl", ".conf", ".md", ".5",
                   ".8", ".yml", ".in", ".logrotate"}
SOURCE_NAMES = {"Makefile", "run", "rules"}
DATA_DIRS = ("tests/fuzz/corpus/", "tests/system/data/", "bench/results/")


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files"],
                             capture_output=True, text=True, timeout=30,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the file list comes from git")
    return [f for f in out.splitlines() if not f.startswith(DATA_DIRS)]


def test_licence_file_is_bsd_2_clause():
    text = (REPO / "LICENSE").read_text()
    assert "Redistribution and use in source and binary forms" in text
    # Two conditions, no third (BSD-3-Clause's endorsement clause).
    assert "Redistributions of source code must retain" in text
    assert "Redistributions in binary form must reproduce" in text
    assert "endorse or promote" not in text
    copyright_ = (REPO / "debian" / "copyright").read_text()
    assert "License: BSD-2-Clause" in copyright_


def test_every_source_file_has_an_spdx_line():
    missing = []
    for f in tracked_files():
        p = Path(f)
        if p.suffix not in SOURCE_SUFFIXES and p.name not in SOURCE_NAMES:
            continue
        path = REPO / f
        if not path.is_file():
            continue
        head = path.read_text(errors="replace").splitlines()[:5]
        if not any(TAG in line for line in head):
            missing.append(f)
    assert not missing, "no '%s' in the first lines of: %s" % (TAG, missing)

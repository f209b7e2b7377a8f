"""File-name-safe folder names: f: divergences with '/' give one folder, stable and readable (issue 19, item 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fgan.cli import main
from fgan.folder_names import folder_name


@pytest.mark.parametrize("name", ["kl", "alpha:0.5", "js-weighted:0.3", "f:u*log(u)"])
def test_a_safe_name_is_its_own_folder(name: str) -> None:
    assert folder_name(name) == name


def test_unsafe_characters_become_one_component_stable_and_distinct() -> None:
    name = "f:(u-1)**2/(u+1)"
    folder = folder_name(name)
    assert "/" not in folder and folder.startswith("f:(u-1)**2_(u+1)-")
    assert folder == folder_name(name)  # stable: the same on every call and run
    assert folder_name("f:(u-1)**2\\(u+1)") != folder
    assert all("/" not in folder_name(text) and folder_name(text) not in ("", ".", "..") for text in ("", ".", ".."))
    assert "\n" not in folder_name("f:u\n")


def test_reproduce_with_a_slash_in_the_name_writes_one_folder(tmp_path: Path) -> None:
    out = tmp_path / "t3"
    name = "f:(u-1)**2/(u+1)"
    argv = ["reproduce", "gaussian-mixture", "--divergence", name, "--steps", "10", "--snapshots", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    for kind in ("runs", "dynamics"):
        assert [path.name for path in (out / kind).iterdir()] == [folder_name(name)]
    assert (out / "dynamics" / folder_name(name) / "dynamics.png").is_file()
    assert main(["report", str(out)]) == 0  # the report finds the fit in its folder

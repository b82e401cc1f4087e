"""Safe file names from item keys, and directory outputs staged beside their target."""

from __future__ import annotations

import os

import pytest

from bridge.errors import ConfigError
from bridge.export.staging import (
    check_name,
    create_exclusive,
    hashed_stem,
    safe_stem,
    staged_directory,
)


@pytest.mark.parametrize(
    ("key", "stem"),
    [
        ("images/2007_000027.jpg", "2007_000027"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path/x.jpg", "x"),
        ("C:\\data\\y.png", "y"),
        ("a\x00b.jpg", "a_b"),
        ("..", "item"),
        ("", "item"),
        (".hidden.jpg", "hidden"),
        ("猫/犬.jpg", "犬"),
        ("name with spaces & $.jpg", "name_with_spaces____"),
        ("https://host/x.jpg?sig=a/b", "b"),
    ],
)
def test_safe_stems(key, stem):
    assert safe_stem(key) == stem


def test_long_names_fit_in_a_file_name():
    key = "猫" * 300 + ".jpg"  # 900 bytes of UTF-8
    assert len(safe_stem(key).encode()) <= 200 and len(hashed_stem(key).encode()) <= 200
    assert safe_stem(key) == "猫" * 66  # 198 bytes: a character is never cut in half
    assert hashed_stem("a/x.jpg") != hashed_stem("b/x.jpg")
    assert hashed_stem("a/x.jpg").startswith("x_") and len(hashed_stem("a/x.jpg")) == 10


@pytest.mark.parametrize("name", ["", ".x", "a/b", "..", "a\\b", "a b", "x\x00"])
def test_check_name_refuses_what_is_not_one_plain_component(name):
    with pytest.raises(ConfigError):
        check_name(name, what="split")


def test_create_exclusive_never_writes_through_a_link_or_over_a_file(tmp_path):
    (tmp_path / "taken.xml").write_text("old")
    (tmp_path / "elsewhere.txt").write_text("keep")
    (tmp_path / "link.xml").symlink_to(tmp_path / "elsewhere.txt")
    for name in ("taken.xml", "link.xml"):
        with pytest.raises(FileExistsError):
            create_exclusive(tmp_path, name)
    assert (tmp_path / "elsewhere.txt").read_text() == "keep"
    with pytest.raises(ValueError):
        create_exclusive(tmp_path, "../x.xml")


def test_a_stage_is_renamed_into_place_or_removed(tmp_path):
    with staged_directory(tmp_path / "out") as stage:
        assert stage.parent == tmp_path and stage.name.startswith(".out.")
        (stage / "f").write_text("x")
    assert os.listdir(tmp_path) == ["out"] and (tmp_path / "out" / "f").read_text() == "x"
    with pytest.raises(KeyboardInterrupt), staged_directory(tmp_path / "other") as stage:
        (stage / "f").write_text("x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["out"]
    with staged_directory(tmp_path / "out", replace=True) as stage:
        (stage / "g").write_text("y")
    assert os.listdir(tmp_path / "out") == ["g"] and os.listdir(tmp_path) == ["out"]

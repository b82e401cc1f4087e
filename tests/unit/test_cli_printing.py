"""What the CLI prints is what the text says: no rich markup, no emoji codes, no escape
sequences or control characters from files and servers (issue 10, points 3 and 5)."""

from __future__ import annotations

import json

import pytest

from bridge import api
from bridge.errors import RemoteError
from bridge.text import json_text, printable
from tests.unit.test_cli_acceptance import CVAT_VIDEO, run_bridge

ESC = "\x1b"
HOSTILE = (
    "before \x1b]0;owned title\x07 \x1b[2J\x1b[31mred\x1b[0m \x9b2J "
    "\u202eevil\u202c \x1bPdcs\x1b\\ bell\x07 back\x08 cr\r after"
)
DANGEROUS = ["\x1b", "\x9b", "\x07", "\x08", "\r", "\u202e", "\u202c", "\x9d", "\x90"]


def assert_terminal_safe(text: str) -> None:
    for char in DANGEROUS:
        assert char not in text, (char, text)


def test_printable_removes_escape_sequences_and_controls_but_keeps_the_words():
    shown = printable(HOSTILE)
    assert_terminal_safe(shown)
    assert "owned title" not in shown  # the OSC payload is part of the sequence
    assert "dcs" not in shown
    for word in ("before", "red", "evil", "bell", "back", "cr", "after"):
        assert word in shown
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"
    assert printable("caf\u00e9 \u8eca [/b] :100:") == "caf\u00e9 \u8eca [/b] :100:"
    # a file name that is not UTF-8 (surrogateescape) shows its byte, and encodes
    shown = printable(b"out\xff.jsonl".decode("utf-8", "surrogateescape"))
    assert shown == "out\\xff.jsonl" and shown.encode()


def test_json_text_is_exact_json_and_terminal_safe():
    value = {"label": HOSTILE, "name": "caf\u00e9", "raw": "\udcff"}
    text = json_text(value)
    assert_terminal_safe(text)
    assert "caf\u00e9" in text  # readable, not \u00e9
    decoded = json.loads(text)
    assert decoded["label"] == HOSTILE and decoded["name"] == "caf\u00e9"


def test_a_server_error_body_with_escape_sequences_is_printed_without_them(
    in_process, monkeypatch, tmp_path
):
    def refuse(*args, **kwargs):
        raise RemoteError(
            f"server said: {HOSTILE}", where="POST /api/import", hint="retry \x1b[5mlater\x1b[0m"
        )

    monkeypatch.setattr(api, "transfer", refuse)
    code, printed = in_process("convert", CVAT_VIDEO, tmp_path / "out.jsonl")
    assert code == 5
    assert_terminal_safe(printed.err)
    assert "server said: before" in printed.err and "after" in printed.err
    assert "hint: retry later" in printed.err


def hostile_jsonl(tmp_path, key: str, label: str, name: str = "in.jsonl"):
    """A unified JSONL file with one text item holding one span (CVAT cannot hold it)."""
    path = tmp_path / name
    item = {
        "key": key,
        "media": {"kind": "text", "text": "hello"},
        "annotation_sets": [
            {
                "id": "1",
                "regions": [
                    {"id": "r", "label": label, "shape": {"type": "span", "start": 0, "end": 2}}
                ],
            }
        ],
    }
    header = {"format": "bridge-jsonl", "version": 1, "project": {"name": "p"}}
    path.write_text(json.dumps(header) + "\n" + json.dumps(item) + "\n")
    return path


def test_loss_examples_from_a_file_are_printed_without_escape_sequences(tmp_path):
    source = hostile_jsonl(tmp_path, key=f"doc {HOSTILE}", label="car")
    done = run_bridge("convert", source, tmp_path / "out.xml")
    assert done.returncode == 0, done.stderr
    assert_terminal_safe(done.stderr)
    assert "cvat.no_span" in done.stderr and "doc before" in done.stderr


def test_a_missing_input_whose_name_holds_escapes_is_named_without_them(tmp_path):
    done = run_bridge("convert", tmp_path / f"x{ESC}]0;owned{chr(7)}y.xml", tmp_path / "o.jsonl")
    assert done.returncode == 2
    assert_terminal_safe(done.stderr)
    assert "Traceback" not in done.stderr and "xy.xml" in done.stderr


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_paths_with_brackets_are_printed_literally_and_strict_still_applies(tmp_path):
    """`[/b]` in a path crashed rich's markup after the output was written (exit 1,
    so --strict was bypassed); `out[final].jsonl` lost its brackets."""
    source = hostile_jsonl(tmp_path, key="doc", label="car")
    target = tmp_path / "d[/b]" / "out[final].xml"
    done = run_bridge("convert", source, target, "--strict")
    assert done.returncode == 6, done.stderr  # a span cannot go to CVAT: --strict's exit
    assert "Traceback" not in done.stderr
    assert f"wrote {target}" in done.stderr
    assert target.exists()


def test_a_location_that_looks_like_an_emoji_code_is_printed_as_written(tmp_path):
    done = run_bridge("convert", tmp_path / "file.xml:100:", tmp_path / "o.jsonl")
    assert done.returncode == 2
    assert "file.xml:100:" in done.stderr and "\U0001f4af" not in done.stderr


def test_labels_with_markup_and_emoji_codes_are_shown_as_written(tmp_path):
    label = "[/x] [bold]car[/bold] :smile:"
    source = hostile_jsonl(tmp_path, key="doc", label=label, name="[bold]in.jsonl")
    done = run_bridge("inspect", source)
    assert done.returncode == 0, done.stderr
    assert label in one_line(done.stdout) and f"{source} (jsonl" in done.stdout
    done = run_bridge("inspect", "--json", source)
    assert json.loads(done.stdout)["labels"] == {label: 1}


def test_output_named_in_another_encoding_is_written_and_named(tmp_path):
    raw = b"out\xff.jsonl".decode("utf-8", "surrogateescape")
    done = run_bridge("convert", CVAT_VIDEO, tmp_path / raw)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "out\\xff.jsonl" in done.stderr
    assert (tmp_path / raw).read_bytes().startswith(b'{"format":"bridge-jsonl"')


def test_an_error_message_never_prints_a_credential_the_process_holds(capsys):
    from bridge import cli, secrets

    token = "tok-" + "7f3a9c" * 4
    secrets.register(token)
    with pytest.raises(SystemExit) as stop:
        cli.fail(f"server said: invalid token {token!r} (%22{token}%22)", 3, hint=f"not {token}")
    printed = capsys.readouterr().err
    assert stop.value.code == 3
    assert token not in printed
    assert printed.count("***") >= 3

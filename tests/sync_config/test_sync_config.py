"""`bridge.sync.config.load_config`: the shipped example configs load, and every kind of bad
config is one ConfigError at the YAML position of the bad key (positions here are computed
from the text by hand, not taken from our code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge import secrets
from bridge.errors import ConfigError
from bridge.sync.config import load_config, parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

MINIMAL = """\
sources:
  - name: a
    path: a.json
target:
  url: labelstudio://127.0.0.1:8080/projects/1
"""


def position(text: str, needle: str, occurrence: int = 0) -> str:
    """1-based "LINE:COLUMN" of the `occurrence`-th `needle` in `text`."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column}"


def error_of(text: str, name: str = "c.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, name)
    return caught.value


# ----------------------------------------------------------------------- shipped configs


def test_shipped_configs_are_the_three_the_issue_asks_for() -> None:
    assert sorted(path.name for path in CONFIGS.glob("*.yaml")) == [
        "labelbox-to-labelstudio.yaml",
        "labelstudio-to-cvat.yaml",
        "two-vendors-to-labelstudio.yaml",
    ]


def test_labelstudio_to_cvat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", "cvat-token-4711-secret")
    config = load_config(CONFIGS / "labelstudio-to-cvat.yaml")
    assert [source.url for source in config.sources] == ["labelstudio://127.0.0.1:8080/projects/12"]
    assert config.target.url == "cvat://cvat.example.com/projects/3"
    token = config.target.options["token"]
    assert isinstance(token, SecretStr)
    assert token.get_secret_value() == "cvat-token-4711-secret"
    assert config.target.plain_options()["token"] == "cvat-token-4711-secret"
    assert config.target.options["organization"] == "my-team"
    assert "cvat-token-4711-secret" not in repr(config) + str(config)
    # registered: any message carrying it is redacted
    assert secrets.redact("sent cvat-token-4711-secret") == "sent ***"
    assert config.workspace == str(CONFIGS.parent / "bridge.db")
    assert (config.sets, config.prefer, config.delete, config.as_) == (
        "latest-accepted",
        "source",
        True,
        "annotations",
    )
    person = config.labels["Person"]
    assert not isinstance(person, str)
    assert person.to == "person"
    assert person.attributes["occluded_level"].values == {"none": "0", "partial": "1", "heavy": "2"}


def test_labelstudio_to_cvat_needs_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CVAT_ACCESS_TOKEN", raising=False)
    path = CONFIGS / "labelstudio-to-cvat.yaml"
    text = path.read_text()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.where == f"{path}:" + position(text, "token: ${CVAT_ACCESS_TOKEN}")
    assert "CVAT_ACCESS_TOKEN" in caught.value.message


def test_two_vendors_to_labelstudio() -> None:
    config = load_config(CONFIGS / "two-vendors-to-labelstudio.yaml")
    assert [(s.name, s.from_, s.match) for s in config.sources] == [
        ("vendor-a", "cvat", None),
        ("vendor-b", "labelbox", "filename"),
    ]
    assert config.sources[0].path == str(
        CONFIGS.parent / "exports" / "vendor-a" / "annotations.xml"
    )
    assert config.match == "filename"
    assert (config.labels["car"], config.labels["Car"], config.labels["Truck"]) == (
        "vehicle",
        "vehicle",
        "vehicle",
    )
    assert config.prefer == "target" and config.delete is False


def test_labelbox_to_labelstudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELBOX_API_KEY", "lb-key-0123456789")
    config = load_config(CONFIGS / "labelbox-to-labelstudio.yaml")
    assert config.workspace is None
    (source,) = config.sources
    assert source.url == "labelbox://projects/clsoy26qo03vm0735wxvvmneh"
    assert source.plain_options() == {"api_key": "lb-key-0123456789"}
    assert config.target.url == "labelstudio+https://labelstudio.example.com/projects/7"
    assert config.sets == "latest" and config.as_ == "annotations"


# ----------------------------------------------------------------------- defaults and env


def test_defaults() -> None:
    config = parse_config(MINIMAL)
    assert (config.match, config.sets, config.prefer, config.delete, config.as_) == (
        "key",
        "all",
        "skip",
        False,
        "annotations",
    )
    assert config.labels == {} and config.relations == {} and config.workspace is None
    assert config.sources[0].path == "a.json"  # no base_dir: left as written


def test_env_outside_options_is_plain_text_and_dollar_dollar_is_literal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LS_HOST", "ls.internal:8080")
    text = MINIMAL.replace("127.0.0.1:8080", "${LS_HOST}") + "  options: {note: 'a $${x} b'}\n"
    config = parse_config(text)
    assert config.target.url == "labelstudio://ls.internal:8080/projects/1"
    assert config.target.options == {"note": "a ${x} b"}  # no reference: not a secret


def test_env_reference_inside_a_longer_option_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PART", "s3cr3t-part")
    config = parse_config(MINIMAL + "  options: {header: 'Token ${PART}'}\n")
    value = config.target.options["header"]
    assert isinstance(value, SecretStr) and value.get_secret_value() == "Token s3cr3t-part"
    # the variable's value alone (what a server may echo) is redacted too
    assert secrets.redact("refused s3cr3t-part") == "refused ***"


def test_bad_env_reference_name() -> None:
    text = MINIMAL + "  options: {token: '${1abc}'}\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "token")
    assert "${1abc}" in error.message


# ----------------------------------------------------------------------- errors


def test_typo_at_top_level_gets_did_you_mean() -> None:
    text = MINIMAL + "prefere: source\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "prefere")
    assert "prefere" in error.message
    assert error.hint is not None and error.hint.startswith("did you mean 'prefer'?")
    assert str(error).count("\n") == 1  # one line, then the hint


def test_typo_in_a_source_gets_did_you_mean() -> None:
    text = MINIMAL.replace("    path: a.json\n", "    path: a.json\n    form: coco\n")
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "form:")
    assert error.hint is not None and "did you mean 'from'?" in error.hint


def test_typo_inside_a_label_rule() -> None:
    text = MINIMAL + "labels:\n  Person: {to: ped, atributes: {}}\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "atributes")
    assert error.hint is not None and "did you mean 'attributes'?" in error.hint


def test_typo_inside_an_attribute_rule() -> None:
    text = MINIMAL + "labels:\n  Person:\n    attributes:\n      pose: {value: {a: b}}\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "value:")
    assert error.hint is not None and "did you mean 'values'?" in error.hint


def test_label_given_as_a_list() -> None:
    text = MINIMAL + "labels:\n  Car: [vehicle]\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "Car")
    assert "labels.Car" in error.message


@pytest.mark.parametrize(
    ("extra", "needle", "words"),
    [
        ("sets: gold,bogus\n", "sets", "'bogus'"),
        ("match: regex:[\n", "match", "regular expression"),
        ("match: basename\n", "match", "'basename'"),
        ("prefer: both\n", "prefer", "'source', 'target' or 'skip'"),
        ("as: labels\n", "as:", "'annotations' or 'predictions'"),
        ("delete: maybe\n", "delete", "bool"),
    ],
)
def test_bad_policy_values(extra: str, needle: str, words: str) -> None:
    text = MINIMAL + extra
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, needle)
    assert words in error.message


def test_bad_sets_and_match_hints() -> None:
    assert "latest-accepted" in (error_of(MINIMAL + "sets: best\n").hint or "")
    assert "regex:PATTERN" in (error_of(MINIMAL + "match: path\n").hint or "")


def test_source_with_both_url_and_path() -> None:
    text = MINIMAL.replace("    path: a.json\n", "    path: a.json\n    url: cvat://h/tasks/1\n")
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "name: a")  # the source's first key
    assert "exactly one of url or path" in error.message


def test_two_sources_with_one_name() -> None:
    text = MINIMAL.replace("target:", "  - name: a\n    path: b.json\ntarget:")
    assert "two sources are named 'a'" in error_of(text).message


def test_duplicate_key() -> None:
    text = MINIMAL + "sets: gold\nsets: all\n"
    error = error_of(text)
    assert error.where == "c.yaml:" + position(text, "sets", 1)
    assert "given twice" in error.message


def test_missing_target_and_empty_sources() -> None:
    no_target = MINIMAL.split("target:")[0]
    assert error_of(no_target).message == "target is missing"
    error = error_of("sources: []\ntarget: {path: out.json}\n")
    assert error.where == "c.yaml:1:1" and "sources" in error.message


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("", "c.yaml", "empty"),
        ("- 1\n", "c.yaml:1:1", "mapping"),
        ("sources: [\n", "c.yaml:2:1", "not valid YAML"),
    ],
)
def test_not_a_config(text: str, where: str, words: str) -> None:
    error = error_of(text)
    assert error.where == where and words in error.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.where == str(tmp_path / "nope.yaml")


def test_relative_paths_are_anchored_at_the_config(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.yaml"
    path.write_text(
        MINIMAL.replace("url: labelstudio://127.0.0.1:8080/projects/1", "path: out/x.json")
        + "workspace: postgresql://db.example.com/bridge\n"
    )
    config = load_config(path)
    assert config.sources[0].path == str(tmp_path / "sub" / "a.json")
    assert config.target.path == str(tmp_path / "sub" / "out" / "x.json")
    assert config.workspace == "postgresql://db.example.com/bridge"  # a URL: untouched


def test_where_points_at_keys() -> None:
    text = MINIMAL + "labels:\n  Car: vehicle\n"
    config = parse_config(text, "c.yaml")
    assert config.where("labels", "Car") == "c.yaml:" + position(text, "Car")
    assert config.where("labels", "Bus") == "c.yaml:" + position(text, "labels:\n")

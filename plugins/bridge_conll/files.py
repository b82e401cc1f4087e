"""CoNLL-2003 / BIO files: one token per line, a blank line between sentences.

Written (atomically, streamed item by item):
```
-DOCSTART- -X- -X- O

EU -X- _ B-ORG
rejects -X- _ O
German -X- _ B-MISC
...
```
Each item is one document: a `-DOCSTART-` line and a blank line (`-O docstart=false` leaves
them out), then its sentences, each followed by a blank line. `-O columns=4` (the default)
writes CoNLL-2003's four columns with placeholder part-of-speech and chunk columns
(`TOKEN -X- _ TAG`, as Label Studio's CoNLL export does); `-O columns=2` writes `TOKEN TAG`.
Tokenizer, scheme and misaligned spans: `bridge_conll.convert`.

CoNLL has no place for an item's key: the writer reports `conll-item-key`, and the reader
names documents `<file stem>:<n>` (1-based). Without `-DOCSTART-` lines in the file, every
sentence is read as one item.

Read: the first column is the token, the last the tag (2 to N columns; lines are split on
white space); a `-DOCSTART-` line starts a new item. Labels become span classes of the
project as they are met.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, FormatError
from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.io import atomic_write
from bridge.losses import LossReport
from bridge.options import flag_option, integer_option
from bridge.schema import Item, LabelClass, Project
from bridge_conll.convert import (
    DOCSTART,
    MISALIGNED,
    TOKENIZERS,
    item_from_sentences,
    scheme_name,
    write_lines,
)


def _choice(options: dict[str, Any], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = str(options.get(name, default))
    if value not in choices:
        raise ConfigError(
            f"{name} must be one of {', '.join(choices)}, not {value!r}",
            hint=f"-O {name}={default}",
        )
    return value


def write_conll(dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> int:
    """Write the text items of `dataset` as CoNLL; return the number of documents."""
    tokenizer = _choice(options, "tokenizer", "regex", tuple(TOKENIZERS))
    scheme = scheme_name(options.get("scheme", "BIO"))
    misaligned = _choice(options, "misaligned", "snap", MISALIGNED)
    columns = integer_option(options, "columns", 4, minimum=2, maximum=4)
    if columns == 3:
        raise ConfigError("columns must be 2 or 4, not 3", hint="-O columns=4")
    docstart = flag_option(options, "docstart", True)
    count = 0
    with atomic_write(path) as out:
        for item in dataset.items:
            lines = write_lines(
                item,
                losses,
                tokenizer=tokenizer,
                scheme=scheme,
                misaligned=misaligned,
                columns=columns,
            )
            if lines is None:
                continue
            losses.record(
                "conll-item-key",
                "CoNLL has no place for item keys: documents are read back as <file>:<n>",
                where=f"item {item.key!r}",
                severity="approximated",
            )
            if docstart:
                out.write(f"{DOCSTART} -X- -X- O\n\n".encode())
            out.write(("\n".join(lines) + "\n").encode())
            count += 1
    return count


def _documents(path: Path) -> Iterator[tuple[int, list[list[tuple[str, str]]]]]:
    """(line number, sentences) per document; a sentence is a list of (token, tag)."""
    sentences: list[list[tuple[str, str]]] = []
    sentence: list[tuple[str, str]] = []
    started = 1
    saw_docstart = False
    with open(path, encoding="utf-8", errors="strict") as handle:
        for number, raw in enumerate(handle, start=1):
            parts = raw.split()
            if parts and parts[0] == DOCSTART:
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                if sentences:
                    yield started, sentences
                sentences, started, saw_docstart = [], number, True
                continue
            if not parts:
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                    if not saw_docstart:  # no documents in this file: a sentence is an item
                        yield started, sentences
                        sentences, started = [], number + 1
                continue
            if len(parts) < 2:
                raise FormatError(
                    f"a token line has one column: {raw.strip()!r}",
                    where=f"{path}:{number}",
                    hint="each token line is TOKEN ... TAG (the tag in the last column)",
                )
            sentence.append((parts[0], parts[-1]))
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield started, sentences


def read_conll(path: Path) -> Dataset:
    project = Project(name=path.stem or "conll", media_kind="text")
    known: set[str] = set()

    def items() -> Iterator[Item]:
        try:
            for number, (line, sentences) in enumerate(_documents(path), start=1):
                item = item_from_sentences(f"{path.stem}:{number}", sentences, f"{path}:{line}")
                for aset in item.annotation_sets:
                    for region in aset.regions:
                        if region.label is not None and region.label not in known:
                            known.add(region.label)
                            project.ontology.labels.append(
                                LabelClass(name=region.label, kinds=["span"])
                            )
                yield item
        except UnicodeDecodeError as error:
            raise FormatError(
                f"not UTF-8 text ({error.reason} at byte {error.start})",
                where=str(path),
                hint="CoNLL files are read as UTF-8",
            ) from None

    return Dataset(project=project, items=items(), origin=str(path))


class ConllFormat(FileFormat):
    name = "conll"
    description = "CoNLL-2003 / BIO tagged tokens (one token per line) for text spans"
    capabilities = Capabilities(media=["text"], regions=["span"], extensions=[".conll", ".bio"])

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() not in self.capabilities.extensions:
            return False
        first = head.lstrip().split(b"\n", 1)[0].split()
        return bool(first) and (first[0] == DOCSTART.encode() or len(first) in (2, 4))

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_conll(path)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_conll(dataset, path, losses, **options)

"""Text spans <-> CoNLL token tags (pure: no disk, no network).

A CoNLL-2003 file has one *token* per line; its last column is the token's tag, and a blank
line ends a *sentence*. A `-DOCSTART-` line starts a *document* (here: one item).

**Tokenizers** (`-O tokenizer=`): `regex` (the default) takes runs of word characters,
joined by inner hyphens or apostrophes (`state-of-the-art`, `don't`), and every other
non-space character alone (`U.S.` is `U . S .`); `whitespace` splits on white space only.
Both keep each token's character offsets into the item's text. A line break in the text
ends a sentence.

**Schemes** (`-O scheme=`): `BIO` (also called IOB2: `B-` on the first token of every
entity, `I-` on the others, `O` outside) or `IOBES` (`S-` for a one-token entity, `B-`,
`I-`, `E-` for longer ones). Reading also takes IOB1 (`I-` starting an entity, `B-` only
between two adjacent entities of one type), the way seqeval reads it.

**Spans that do not fall on token boundaries** (a span starting inside a word) are snapped
outward to the tokens they touch (`-O misaligned=snap`, the default, reported as
`conll-span-snapped`) or dropped (`-O misaligned=drop`, `conll-span-misaligned`). A span
overlapping an earlier one cannot be tagged (`conll-span-overlap`); nor can a span that
covers no token (`conll-span-empty`), a span across parts of an item
(`conll-span-container`) or one without offsets (`conll-span-offsets`). Tracks, relations,
document-level answers and reviews have no CoNLL form (`conll-tracks`, `conll-relations`,
`conll-set-classifications`, `conll-reviews`).

**Reading back**, the text is rebuilt from the tokens: tokens joined by one space, sentences
by a line break, with span offsets into that text. When the original spacing differs the
writer reports `conll-text-spacing` (the words and tags are exact, the offsets move).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bridge.errors import ConfigError, FormatError
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item, Media, Region, Span

TOKENIZERS = {
    "regex": re.compile(r"\w+(?:[-'\u2019]\w+)*|[^\w\s]"),
    "whitespace": re.compile(r"\S+"),
}
SCHEMES = {"BIO": "BIO", "IOB2": "BIO", "IOBES": "IOBES", "BIOES": "IOBES"}
MISALIGNED = ("snap", "drop")
OUTSIDE = "O"
DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class Token:
    """A token and its character offsets (`start` inclusive, `end` exclusive)."""

    text: str
    start: int
    end: int


def tokenize(text: str, tokenizer: str = "regex") -> list[Token]:
    """The tokens of `text`, with their offsets."""
    pattern = TOKENIZERS.get(tokenizer)
    if pattern is None:
        raise ConfigError(
            f"tokenizer must be regex or whitespace, not {tokenizer!r}", hint="-O tokenizer=regex"
        )
    return [Token(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]


def sentences(text: str, tokens: list[Token]) -> list[list[int]]:
    """Token indices grouped into sentences: a line break between two tokens ends one."""
    groups: list[list[int]] = []
    for index, token in enumerate(tokens):
        if not groups or "\n" in text[tokens[index - 1].end : token.start]:
            groups.append([])
        groups[-1].append(index)
    return groups


def scheme_name(value: str) -> str:
    scheme = SCHEMES.get(str(value).upper())
    if scheme is None:
        raise ConfigError(f"scheme must be BIO or IOBES, not {value!r}", hint="-O scheme=BIO")
    return scheme


def _entity_tags(label: str, length: int, scheme: str) -> list[str]:
    if scheme == "IOBES":
        if length == 1:
            return [f"S-{label}"]
        return [f"B-{label}", *([f"I-{label}"] * (length - 2)), f"E-{label}"]
    return [f"B-{label}", *([f"I-{label}"] * (length - 1))]


def _tag_label(label: str, losses: LossReport, where: str) -> str:
    clean = re.sub(r"\s", "_", label)
    if clean != label:
        losses.record(
            "conll-label-renamed",
            "white space in a label replaced by '_' (a CoNLL tag is one column)",
            where=where,
            severity="approximated",
        )
    return clean


def tag_tokens(
    tokens: list[Token],
    spans: Iterable[tuple[Region, Span]],
    losses: LossReport,
    where: str,
    *,
    scheme: str = "BIO",
    misaligned: str = "snap",
) -> list[str]:
    """The tag of every token for `spans` (region, span shape), losses recorded."""
    tags = [OUTSIDE] * len(tokens)
    ends = [token.end for token in tokens]
    for region, span in sorted(spans, key=lambda pair: (pair[1].start or 0, -(pair[1].end or 0))):
        here = f"{where} region {region.id!r}"
        if span.container is not None or span.end_container is not None:
            losses.record(
                "conll-span-container",
                "spans inside one part of an item (a paragraph, a message) have no CoNLL form",
                where=here,
            )
            continue
        if span.start is None or span.end is None:
            losses.record(
                "conll-span-offsets", "spans without character offsets cannot be tagged", where=here
            )
            continue
        first = bisect_right(ends, span.start)  # the first token ending after the start
        covered = []
        for index in range(first, len(tokens)):
            if tokens[index].start >= span.end:
                break
            covered.append(index)
        if not covered:
            losses.record(
                "conll-span-empty",
                "spans covering no token (empty or only white space) dropped",
                where=here,
            )
            continue
        aligned = tokens[covered[0]].start == span.start and tokens[covered[-1]].end == span.end
        if not aligned:
            if misaligned == "drop":
                losses.record(
                    "conll-span-misaligned",
                    "spans not on token boundaries dropped (-O misaligned=drop)",
                    where=here,
                )
                continue
            losses.record(
                "conll-span-snapped",
                "spans not on token boundaries widened to the tokens they touch",
                where=here,
                severity="approximated",
            )
        if any(tags[index] != OUTSIDE for index in covered):
            losses.record(
                "conll-span-overlap",
                "overlapping or nested spans cannot be tagged: the later one dropped",
                where=here,
            )
            continue
        label = _tag_label(region.label or "MISC", losses, here)
        if not region.label:  # None or "" (a tag "B-" would not read back)
            losses.record(
                "conll-span-unlabelled",
                "a span without a label tagged MISC",
                where=here,
                severity="approximated",
            )
        for index, tag in zip(covered, _entity_tags(label, len(covered), scheme), strict=True):
            tags[index] = tag
    return tags


def entities(tags: list[str], where: str) -> Iterator[tuple[int, int, str]]:
    """The entities of a tag sequence as (first token, last token + 1, label); BIO, IOB1
    and IOBES read the way seqeval reads them."""
    current: tuple[int, str] | None = None
    for index, tag in enumerate([*tags, OUTSIDE]):
        prefix, _, label = tag.partition("-")
        if tag == OUTSIDE or prefix not in ("B", "I", "E", "S") or not label:
            if tag != OUTSIDE:
                raise FormatError(
                    f"tag {tag!r} is not O, B-X, I-X, E-X or S-X",
                    where=f"{where} token {index + 1}",
                    hint="the last column holds BIO or IOBES tags",
                )
            if current is not None:
                yield current[0], index, current[1]
                current = None
            continue
        if prefix in ("B", "S") or current is None or current[1] != label:
            if current is not None:
                yield current[0], index, current[1]
            current = (index, label)
        if prefix in ("E", "S"):
            yield current[0], index + 1, current[1]
            current = None


def write_lines(
    item: Item,
    losses: LossReport,
    *,
    tokenizer: str,
    scheme: str,
    misaligned: str,
    columns: int,
) -> list[str] | None:
    """The token lines of `item` (sentences separated by an empty string), or None when
    it has no text (the loss is recorded)."""
    where = f"item {item.key!r}"
    text = item.media.text
    if text is None:
        losses.record("conll-media", "items without text skipped (CoNLL tags text)", where=where)
        return None
    tokens = tokenize(text, tokenizer)
    sets = item.annotation_sets
    if len(sets) > 1:
        losses.record(
            "conll-extra-sets",
            "CoNLL holds one tagging per text: only the first selected set is written (choose one with --sets)",
            where=where,
            count=len(sets) - 1,
        )
    pairs: list[tuple[Region, Span]] = []
    for aset in sets[:1]:
        _report_set_losses(aset, losses, where)
        for region in aset.regions:
            if isinstance(region.shape, Span):
                pairs.append((region, region.shape))
                if region.classifications:
                    losses.record(
                        "conll-region-classifications",
                        "answers about a span have no CoNLL column",
                        where=where,
                        count=len(region.classifications),
                    )
            else:
                losses.record(
                    "conll-region-kind",
                    "only text spans have a CoNLL form",
                    where=f"{where} region {region.id!r}",
                )
    tags = tag_tokens(tokens, pairs, losses, where, scheme=scheme, misaligned=misaligned)
    groups = sentences(text, tokens)
    if "\n".join(" ".join(tokens[i].text for i in group) for group in groups) != text:
        losses.record(
            "conll-text-spacing",
            "the text is rebuilt from tokens on reading (one space, one line break): offsets move",
            where=where,
            severity="approximated",
        )
    lines: list[str] = []
    for group in groups:
        for index in group:
            token = tokens[index].text
            lines.append(
                f"{token} -X- _ {tags[index]}" if columns == 4 else f"{token} {tags[index]}"
            )
        lines.append("")
    return lines


def _report_set_losses(aset: AnnotationSet, losses: LossReport, where: str) -> None:
    for code, count, message in (
        ("conll-tracks", len(aset.tracks), "CoNLL has no tracks"),
        ("conll-relations", len(aset.relations), "CoNLL has no relations between spans"),
        (
            "conll-set-classifications",
            len(aset.classifications),
            "CoNLL has no document-level answers",
        ),
        ("conll-reviews", len(aset.reviews), "CoNLL has no reviews of an annotation"),
    ):
        if count:
            losses.record(code, message, where=where, count=count)


def item_from_sentences(key: str, sentences_: list[list[tuple[str, str]]], where: str) -> Item:
    """An item from its sentences of (token, tag) pairs: the text rebuilt from the tokens
    (one space between tokens, a line break between sentences), one span per entity."""
    parts: list[str] = []
    found: list[tuple[int, int, str]] = []  # (start, end, label) in the rebuilt text
    offset = 0
    for number, sentence in enumerate(sentences_):
        if number:
            parts.append("\n")
            offset += 1
        starts: list[int] = []
        ends: list[int] = []
        for position, (token, _tag) in enumerate(sentence):
            if position:
                parts.append(" ")
                offset += 1
            starts.append(offset)
            parts.append(token)
            offset += len(token)
            ends.append(offset)
        tags = [tag for _token, tag in sentence]
        for first, stop, label in entities(tags, f"{where} sentence {number + 1}"):
            found.append((starts[first], ends[stop - 1], label))
    text = "".join(parts)
    regions = [
        Region(id=str(n), label=label, shape=Span(start=start, end=end, text=text[start:end]))
        for n, (start, end, label) in enumerate(found, start=1)
    ]
    aset = AnnotationSet(id=f"conll:{key}", regions=regions)
    return Item(
        key=key, media=Media(kind="text", text=text), annotation_sets=[aset] if regions else []
    )

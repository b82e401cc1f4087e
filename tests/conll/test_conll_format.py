"""CoNLL-2003 / BIO: seqeval reads our tags as our spans; misaligned, overlapping and empty
spans are reported; files read back into text and spans."""

from __future__ import annotations

import pytest
from bridge_conll.convert import entities, tokenize
from bridge_conll.files import read_conll, write_conll
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from bridge import api
from bridge.errors import ConfigError, FormatError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, BBox, Item, Media, Project, Region, Relation, Review, Span

# The first sentences of the CoNLL-2003 English training data (the shared task's worked
# example), with their entities by token index: (label, first token, last token).
SENTENCES = [
    (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
     [("ORG", 0, 0), ("MISC", 2, 2), ("MISC", 6, 6)]),
    (["Peter", "Blackburn"], [("PER", 0, 1)]),
    (["BRUSSELS", "1996-08-22"], [("LOC", 0, 0)]),
]  # fmt: skip


def _document(sentences) -> Item:
    """An item whose text is the sentences (tokens joined by a space, sentences by a line
    break), with a span for every entity: offsets computed from the words themselves."""
    regions, lines, offset = [], [], 0
    for words, ents in sentences:
        starts = []
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        for label, first, last in ents:
            start, end = starts[first], starts[last] + len(words[last])
            regions.append(
                Region(id=str(len(regions) + 1), label=label, shape=Span(start=start, end=end))
            )
        lines.append(" ".join(words))
    text = "\n".join(lines)
    return Item(
        key="doc",
        media=Media(kind="text", text=text),
        annotation_sets=[AnnotationSet(id="a", regions=regions)],
    )


def _write(tmp_path, *items, **options):
    losses = LossReport()
    path = tmp_path / "out.conll"
    write_conll(Dataset(project=Project(name="t"), items=list(items)), path, losses, **options)
    return path, losses


def _sentence_tags(path):
    """The tag column of every sentence (blank-line separated; -DOCSTART- lines skipped)."""
    sentences, current = [], []
    for line in path.read_text().splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        current.append(line.split()[-1])
    return sentences


@pytest.mark.parametrize("scheme", ["BIO", "IOBES"])
def test_seqeval_reads_our_tags_as_our_spans(tmp_path, scheme):
    path, losses = _write(tmp_path, _document(SENTENCES), scheme=scheme)
    tagged = _sentence_tags(path)
    assert [len(tags) for tags in tagged] == [len(words) for words, _ in SENTENCES]
    for tags, (_words, ents) in zip(tagged, SENTENCES, strict=True):
        assert get_entities(tags) == ents
    if scheme == "IOBES":
        assert tagged[0][0] == "S-ORG" and tagged[1] == ["B-PER", "E-PER"]
    else:
        assert tagged[0][0] == "B-ORG" and tagged[1] == ["B-PER", "I-PER"]
    assert "conll-span-snapped" not in losses and "conll-text-spacing" not in losses


def test_the_file_layout(tmp_path):
    path, _ = _write(tmp_path, _document(SENTENCES[1:2]))
    assert (
        path.read_text() == "-DOCSTART- -X- -X- O\n\nPeter -X- _ B-PER\nBlackburn -X- _ I-PER\n\n"
    )
    path, _ = _write(tmp_path, _document(SENTENCES[1:2]), columns=2, docstart=False)
    assert path.read_text() == "Peter B-PER\nBlackburn I-PER\n\n"


def test_reading_back_gives_the_text_and_spans(tmp_path):
    item = _document(SENTENCES)
    path, _ = _write(tmp_path, item, item.model_copy(update={"key": "doc2"}))
    back = list(api.open_dataset(path).items)  # sniffed by extension and first line
    assert [b.key for b in back] == ["out:1", "out:2"]
    assert back[0].media.text == item.media.text
    spans = [(r.label, r.shape.start, r.shape.end) for r in item.annotation_sets[0].regions]
    assert [
        (r.label, r.shape.start, r.shape.end) for r in back[0].annotation_sets[0].regions
    ] == spans
    assert [r.shape.text for r in back[0].annotation_sets[0].regions] == [
        "EU", "German", "British", "Peter Blackburn", "BRUSSELS",
    ]  # fmt: skip


def test_spans_off_token_boundaries_are_snapped_or_dropped_and_reported(tmp_path):
    text = "Peter Blackburn went home"
    regions = [
        Region(id="inside", label="PER", shape=Span(start=6, end=11)),  # "Black" of Blackburn
        Region(id="space", label="X", shape=Span(start=5, end=6)),  # only a space
        Region(id="overlap", label="Y", shape=Span(start=0, end=15)),  # over Blackburn again
        Region(id="box", label="Z", shape=BBox(x=0, y=0, width=1, height=1)),
    ]
    item = Item(
        key="k",
        media=Media(kind="text", text=text),
        annotation_sets=[
            AnnotationSet(
                id="a",
                regions=regions,
                relations=[Relation(from_id="inside", to_id="space")],
                reviews=[Review(status="rejected"), Review(status="fixed")],
            )
        ],
    )
    path, losses = _write(tmp_path, item)
    # sorted by start: "overlap" (0..15) is tagged first; "inside" then overlaps it
    assert _sentence_tags(path) == [["B-Y", "I-Y", "O", "O"]]
    assert losses.count("conll-span-overlap") == 1
    assert losses.count("conll-span-empty") == 1
    assert losses.count("conll-region-kind") == 1
    assert losses.count("conll-relations") == 1
    assert losses.count("conll-reviews") == 2
    alone = item.model_copy(
        update={"annotation_sets": [AnnotationSet(id="a", regions=regions[:1])]}
    )
    path, losses = _write(tmp_path, alone)
    assert _sentence_tags(path) == [["O", "B-PER", "O", "O"]]
    assert losses.count("conll-span-snapped") == 1
    path, losses = _write(tmp_path, alone, misaligned="drop")
    assert _sentence_tags(path) == [["O", "O", "O", "O"]]
    assert losses.count("conll-span-misaligned") == 1


def test_spans_without_a_label_are_tagged_misc_and_reported(tmp_path):
    regions = [
        Region(id="none", shape=Span(start=0, end=5)),  # "Peter"
        Region(id="empty", label="", shape=Span(start=16, end=20)),  # "home"
    ]
    item = Item(
        key="k",
        media=Media(kind="text", text="Peter Blackburn home"),
        annotation_sets=[AnnotationSet(id="a", regions=regions)],
    )
    path, losses = _write(tmp_path, item)
    assert _sentence_tags(path) == [["B-MISC", "O", "B-MISC"]]
    assert losses.count("conll-span-unlabelled") == 2


def test_tokenizers_keep_offsets():
    text = "U.S. state-of-the-art, don't  go"
    regex = tokenize(text, "regex")
    assert [t.text for t in regex] == ["U", ".", "S", ".", "state-of-the-art", ",", "don't", "go"]
    assert all(text[t.start : t.end] == t.text for t in regex)
    assert [t.text for t in tokenize(text, "whitespace")] == [
        "U.S.",
        "state-of-the-art,",
        "don't",
        "go",
    ]
    with pytest.raises(ConfigError, match="tokenizer"):
        tokenize(text, "spacy")


def test_what_conll_cannot_hold_is_reported(tmp_path):
    image = Item(key="i.jpg", media=Media(kind="image"))
    two_sets = _document(SENTENCES[1:2]).model_copy(
        update={"annotation_sets": [AnnotationSet(id="a"), AnnotationSet(id="b")]}
    )
    spaced = Item(key="s", media=Media(kind="text", text="New  York"))
    _, losses = _write(tmp_path, image, two_sets, spaced)
    assert losses.count("conll-media") == 1
    assert losses.count("conll-extra-sets") == 1
    assert losses.count("conll-text-spacing") == 1
    assert losses.count("conll-item-key") == 2


tags = st.lists(
    st.sampled_from(["O", "B-A", "I-A", "B-B", "I-B", "E-A", "S-B", "E-B", "S-A"]), max_size=12
)


@given(tags)
def test_our_entity_reader_agrees_with_seqeval(sequence):
    ours = [(label, first, stop - 1) for first, stop, label in entities(sequence, "t")]
    assert ours == get_entities(sequence)


def test_a_conll_2003_iob1_file_reads_as_seqeval_reads_it(tmp_path):
    # the opening lines of CoNLL-2003's eng.train, four columns, IOB1 tags
    path = tmp_path / "eng.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\n"
        "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\ncall NN I-NP O\n"
        "to TO I-VP O\nboycott VB I-VP O\nBritish JJ I-NP I-MISC\nlamb NN I-NP O\n. . O O\n\n"
        "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
    )
    [item] = read_conll(path).items
    got = [(r.label, r.shape.text) for r in item.annotation_sets[0].regions]
    assert got == [
        ("ORG", "EU"),
        ("MISC", "German"),
        ("MISC", "British"),
        ("PER", "Peter Blackburn"),
    ]


def test_bad_tags_and_lines_are_located(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("EU X-ORG\n\n")
    with pytest.raises(FormatError, match="X-ORG"):
        list(read_conll(path).items)
    path.write_text("EU\n\n")
    with pytest.raises(FormatError, match="one column") as error:
        list(read_conll(path).items)
    assert error.value.where.endswith("bad.conll:1")

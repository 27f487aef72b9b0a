"""BRAT standoff folders: every mention converted or reported, errors that point at the .ann line, writing."""

from collections import defaultdict

import pytest

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, guess_format, read_sentences, write_sentences
from nerkit.schemes import get_spans


def make_folder(folder, documents):
    """``documents``: {stem: (text or None, ann lines or None)}; None leaves that file out."""
    folder.mkdir(exist_ok=True)
    for stem, (text, lines) in documents.items():
        if text is not None:
            (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
        if lines is not None:
            (folder / f"{stem}.ann").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def read(folder, options=None):
    return read_sentences(folder, "brat", options or FormatOptions())


def entities_by_document(sentences):
    """{document id: [(start, end, label)]} in characters, from the IOB2 tags."""
    found = defaultdict(list)
    for sentence in sentences:
        for label, first, end in get_spans(sentence.ner_tags):
            found[sentence.document_id].append((sentence.offsets[first][0], sentence.offsets[end - 1][1], label))
    return dict(found)


TEXT = "Cystic fibrosis is common.\nBreast and ovarian cancer run in families with BRCA1-associated risk."


def t_line(tid, label, spans, text=TEXT):
    surface = " ".join(text[s:e] for s, e in spans)
    return f"{tid}\t{label} {';'.join(f'{s} {e}' for s, e in spans)}\t{surface}"


def test_tiny_folder_with_every_line_kind(tmp_path):
    b = TEXT.index("Breast")
    lines = [
        t_line("T1", "Disease", [(0, 15)]),
        "N1\tReference T1 MeSH:D003550",
        "A1\tNegated T1",
        t_line("T2", "Gene", [(TEXT.index("BRCA1"), TEXT.index("BRCA1") + 5)]),
        "R1\tRelated Arg1:T1 Arg2:T2",
        "E1\tEvent:T1",
        "#1\tAnnotatorNotes T1\tchecked",
        "*\tEquiv T1 T2",
        "N2\tReference T2 HGNC:1100",
        t_line("T3", "Disease", [(b, b + 6), (b + 19, b + 25)]),  # discontinuous: "Breast ... cancer"
    ]
    options = FormatOptions()
    folder = make_folder(tmp_path / "brat", {"doc1": (TEXT, lines)})
    assert guess_format(folder) == "brat"
    sentences = read(folder, options)
    assert [s.document_id for s in sentences] == ["doc1", "doc1"]
    assert sentences[0].tokens == ["Cystic", "fibrosis", "is", "common", "."]
    assert sentences[0].ner_tags == ["B-Disease", "I-Disease", "O", "O", "O"]
    # the word is cut at the entity boundary, so BRCA1 needs no adjustment
    assert sentences[1].tokens[8:11] == ["BRCA1", "-", "associated"]
    assert entities_by_document(sentences)["doc1"] == [(0, 15, "Disease"), (b, b + 25, "Disease"), (TEXT.index("BRCA1"), TEXT.index("BRCA1") + 5, "Gene")]
    counts = options.report.counts
    assert (counts["T lines"], counts["ignored N lines"], counts["ignored A lines"], counts["ignored R lines"]) == (3, 2, 1, 1)
    assert (counts["ignored E lines"], counts["ignored # lines"], counts["ignored * lines"]) == (1, 1, 1)
    assert counts["discontinuous"] == 1 and counts["boundary adjusted"] == 0
    assert f"{folder / 'doc1.ann'}:10: T3 discontinuous span" in options.report.notes[0]
    assert sentences[1].text == TEXT and sentences[1].extra["char_start"] == 27 and sentences[1].line is None


def test_overlap_keeps_the_longer_and_reports_the_dropped(tmp_path):
    b = TEXT.index("Breast")
    o = TEXT.index("ovarian")
    lines = [
        t_line("T1", "Disease", [(o, o + 14)]),  # "ovarian cancer", nested in T2
        t_line("T2", "Disease", [(b, b + 25)]),  # "Breast and ovarian cancer"
        t_line("T3", "Organ", [(b, b + 6)]),  # "Breast", nested too
        t_line("T4", "Disease", [(0, 6)]),  # "Cystic"
        t_line("T5", "Disease", [(0, 6)]),  # the same span again: a tie, the earlier line wins
    ]
    options = FormatOptions()
    folder = make_folder(tmp_path / "brat", {"d": (TEXT, lines)})
    sentences = read(folder, options)
    assert entities_by_document(sentences)["d"] == [(0, 6, "Disease"), (b, b + 25, "Disease")]
    assert options.report.counts["overlap dropped"] == 3
    notes = "\n".join(options.report.notes)
    assert f"{folder / 'd.ann'}:1: T1 Disease [{o}, {o + 14}] overlaps T2" in notes
    assert f"{folder / 'd.ann'}:3: T3 Organ" in notes and f"{folder / 'd.ann'}:5: T5 Disease [0, 6] overlaps T4" in notes


def test_boundary_inside_a_word_is_extended_and_reported(tmp_path):
    text = "An autosomal dominant disorder was seen.\n"
    lines = [f"T1\tDisease 3 29\t{text[3:29]}", f"T2\tDisease 35 38\t{text[35:38]}"]  # "... disorde", "see"
    options = FormatOptions()
    sentences = read(make_folder(tmp_path / "brat", {"d": (text, lines)}), options)
    assert sentences[0].tokens == ["An", "autosomal", "dominant", "disorder", "was", "seen", "."]
    assert entities_by_document(sentences)["d"] == [(3, 30, "Disease"), (35, 39, "Disease")]
    assert options.report.counts["boundary adjusted"] == 2
    assert "T1 Disease [3, 29] is not on word boundaries" in options.report.notes[0]
    assert "extended to [3, 30]" in options.report.notes[0]


def test_extension_that_creates_an_overlap_is_reported(tmp_path):
    text = "Hemochromatosis here."
    lines = [f"T1\tA 0 4\t{text[0:4]}", f"T2\tB 6 10\t{text[6:10]}"]  # both inside one word
    options = FormatOptions()
    sentences = read(make_folder(tmp_path / "brat", {"d": (text, lines)}), options)
    assert entities_by_document(sentences)["d"] == [(0, 15, "A")]
    assert options.report.counts["boundary adjusted"] == 2 and options.report.counts["overlap dropped"] == 1
    assert "after extension to word boundaries" in options.report.notes[-1]


def test_whitespace_edges_trimmed_and_blank_span_dropped(tmp_path):
    text = "Ada  met Bob ."
    lines = ["T1\tPER 0 5\tAda  ", "T2\tPER 3 5\t  ", "T3\tPER 9 12\tBob"]
    options = FormatOptions()
    sentences = read(make_folder(tmp_path / "brat", {"d": (text, lines)}), options)
    assert entities_by_document(sentences)["d"] == [(0, 3, "PER"), (9, 12, "PER")]
    assert options.report.counts["boundary adjusted"] == 1 and options.report.counts["empty span dropped"] == 1


def test_entity_across_a_sentence_split_merges_sentences(tmp_path):
    text = "They saw Fig. 1. Smith disease was there. Then left."
    start = text.index("1. Smith")
    lines = [f"T1\tDisease {start} {start + 16}\t{text[start:start + 16]}"]
    options = FormatOptions()
    sentences = read(make_folder(tmp_path / "brat", {"d": (text, lines)}), options)
    assert [" ".join(s.tokens) for s in sentences] == ["They saw Fig. 1 . Smith disease was there .", "Then left ."]
    assert options.report.counts["sentences merged"] == 1


def test_crlf_text_keeps_brat_offsets(tmp_path):
    text = "Title line\r\nAda met Bob.\r\n"
    lines = [f"T1\tPER {text.index('Bob')} {text.index('Bob') + 3}\tBob"]
    sentences = read(make_folder(tmp_path / "brat", {"d": (text, lines)}))
    assert [s.tokens for s in sentences] == [["Title", "line"], ["Ada", "met", "Bob", "."]]
    assert sentences[1].ner_tags == ["O", "O", "B-PER", "O"]


def test_documents_sorted_and_txt_without_ann_noted(tmp_path):
    options = FormatOptions()
    folder = make_folder(tmp_path / "brat", {"b": ("Bee.", []), "a": ("Ay.", None), "c": ("Sea.", ["T1\tX 0 3\tSea"])})
    (folder / "annotation.conf").write_text("[entities]\nX\n")
    (folder / ".hidden.ann").write_text("T1\tX 0 1\tq\n")
    sentences = read(folder, options)
    assert [s.document_id for s in sentences] == ["a", "b", "c"]
    assert options.report.counts["missing .ann"] == 1 and "a.ann" in options.report.notes[0]


def test_ann_without_txt_is_an_error(tmp_path):
    folder = make_folder(tmp_path / "brat", {"a": ("Ay.", []), "orphan": (None, ["T1\tX 0 1\tA"])})
    with pytest.raises(NerDataError, match=r"orphan\.ann: annotation file without its text file orphan\.txt"):
        read(folder)


@pytest.mark.parametrize(
    "line, problem",
    [
        ("T7\tDisease 20 99\tx", "T7: span 20 99 goes beyond the end of the text (26 characters)"),
        ("T7\tDisease 0 6\tCystik", "T7: the text at 0 6 is 'Cystic' but the .ann says 'Cystik'"),
        ("T7\tDisease 6 0\tx", "T7: span 6 0 is empty or reversed"),
        ("T7\tDisease 0 x6\tCystic", "T7: malformed span '0 x6'"),
        ("T7\tDisease\tCystic", "T7: malformed T line"),
    ],
)
def test_bad_t_lines_name_the_ann_file_line_and_id(tmp_path, line, problem):
    folder = make_folder(tmp_path / "brat", {"d": ("Cystic fibrosis is common.", ["T1\tDisease 0 15\tCystic fibrosis", "", line])})
    with pytest.raises(NerDataError) as caught:
        read(folder)
    assert str(caught.value).startswith(f"{folder / 'd.ann'}:3: {problem}")


def test_not_a_folder(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NerDataError, match="expected a BRAT folder"):
        read(tmp_path / "file.txt")


def test_write_reuses_text_and_round_trips(tmp_path):
    text = "Ada Lovelace met\nCharles Babbage in London.\n"
    lines = ["T1\tPER 0 12\tAda Lovelace", "T2\tPER 17 32\tCharles Babbage", "T3\tLOC 36 42\tLondon"]
    source = make_folder(tmp_path / "in", {"doc-1.v2": (text, lines)})
    write_sentences(read(source), tmp_path / "out", "brat")
    assert (tmp_path / "out" / "doc-1.v2.txt").read_bytes() == text.encode()
    assert (tmp_path / "out" / "doc-1.v2.ann").read_text() == "".join(line + "\n" for line in lines)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["doc-1.v2.ann", "doc-1.v2.txt"]


def test_write_rebuilds_text_and_splits_multiline_entities(tmp_path):
    sentences = [
        Sentence(["New", "York"], ["B-LOC", "I-LOC"], document_id="d"),
        Sentence(["City", "is", "big"], ["I-LOC", "O", "O"], document_id="d"),  # opens a new entity
        Sentence(["Ada"], ["B-PER"]),
    ]
    write_sentences(sentences, tmp_path / "out", "brat")
    assert (tmp_path / "out" / "d.txt").read_text() == "New York\nCity is big\n"
    assert (tmp_path / "out" / "d.ann").read_text() == "T1\tLOC 0 8\tNew York\nT2\tLOC 9 13\tCity\n"
    assert (tmp_path / "out" / "document-2.ann").read_text() == "T1\tPER 0 3\tAda\n"
    # an entity whose text spans a line break is written as fragments, and read back whole
    text = "Ada Love\nlace wrote."
    merged = [Sentence(["Ada", "Love", "lace", "wrote", "."], ["B-PER", "I-PER", "I-PER", "O", "O"], document_id="m",
                       text=text, offsets=[(0, 3), (4, 8), (9, 13), (14, 19), (19, 20)])]
    write_sentences(merged, tmp_path / "multi", "brat")
    assert (tmp_path / "multi" / "m.ann").read_text() == "T1\tPER 0 8;9 13\tAda Love lace\n"
    options = FormatOptions()
    again = read(tmp_path / "multi", options)
    assert entities_by_document(again) == {"m": [(0, 13, "PER")]} and options.report.counts["discontinuous"] == 1


@pytest.mark.parametrize("document_id", ["../escape", "a/b", ".hidden", "", "with space"])
def test_write_refuses_unsafe_document_ids(tmp_path, document_id):
    with pytest.raises(NerDataError, match="not a safe file name"):
        write_sentences([Sentence(["x"], ["O"], document_id=document_id)], tmp_path / "out", "brat")
    assert not (tmp_path / "escape.txt").exists()


def test_write_refuses_colliding_names_and_labels_with_spaces(tmp_path):
    with pytest.raises(NerDataError, match="both be written to"):
        write_sentences([Sentence(["x"], ["O"], document_id="Doc"), Sentence(["y"], ["O"], document_id="doc")], tmp_path / "o", "brat")
    with pytest.raises(NerDataError, match="contains whitespace"):
        write_sentences([Sentence(["x"], ["B-New Type"], document_id="d")], tmp_path / "p", "brat")


def test_ncbi_disease_train_accounts_for_every_mention(shared_data):
    """All 5,145 T lines of the NCBI train split become entities or are reported, with a reason."""
    folder = shared_data / "ncbi_disease_brat" / "train"
    options = FormatOptions()
    sentences = read(folder, options)
    found = entities_by_document(sentences)
    annotated, total = {}, 0
    for ann in folder.glob("*.ann"):
        spans = set()
        for line in ann.read_text().splitlines():
            if line.startswith("T"):
                label, start, end = line.split("\t")[1].split(" ")
                spans.add((int(start), int(end), label))
                total += 1
        annotated[ann.stem] = spans
    converted = sum(len(spans) for spans in found.values())
    exact = sum(len(annotated[doc] & set(spans)) for doc, spans in found.items())
    counts = options.report.counts
    dropped = counts["overlap dropped"] + counts["empty span dropped"]
    print(f"NCBI train: {total} mentions, {converted} converted ({exact} exactly), {dropped} dropped; {dict(counts)}")
    assert total == counts["T lines"] == 5145
    assert converted + dropped == 5145
    assert (converted, exact, dropped) == (5145, 5143, 0)
    # the two mentions that end between two letters ("disorde|r", "complemen|t") were extended and reported
    assert counts["boundary adjusted"] == 2 and counts["discontinuous"] == 0
    assert counts["sentences merged"] == 4
    assert counts["ignored N lines"] == 5248 and counts["documents"] == 593
    assert len(sentences) == 5695

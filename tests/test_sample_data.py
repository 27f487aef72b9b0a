"""data/sample: the committed files are exactly what scripts/make_sample_data.py writes, and they are a
valid, consistent IOB2 corpus with the shape the README promises."""

import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from nerkit.formats import read_sentences
from nerkit.labels import validate_tags
from nerkit.schemes import get_spans
from nerkit.stats import corpus_stats

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "scripts" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus():
    return {split: read_sentences(SAMPLE / f"{split}.conll", "conll") for split in SPLITS}


def test_committed_files_equal_the_generator_output(generator):
    generated = generator.generate()
    assert sorted(generated) == sorted(p.name for p in SAMPLE.iterdir())
    for name, text in generated.items():
        # Bytes, not text: line ends and encoding must not drift either.
        assert (SAMPLE / name).read_bytes() == text.encode("utf-8"), f"data/sample/{name} differs: run python scripts/make_sample_data.py"
    assert generator.generate(seed=generator.SEED + 1)["train.conll"] != generated["train.conll"]  # the seed matters


def test_file_layout():
    for split in SPLITS:
        lines = (SAMPLE / f"{split}.conll").read_text(encoding="utf-8").split("\n")
        assert lines[0] == "-DOCSTART- O" and lines[1] == ""
        for number, line in enumerate(lines, 1):
            assert line == "" or re.fullmatch(r"\S+ (O|[BI]-(PER|ORG|LOC|MISC))", line), f"{split}.conll:{number}: {line!r}"
    assert sum((SAMPLE / f"{split}.conll").stat().st_size for split in SPLITS) < 300_000


def test_the_validator_passes_and_the_readme_counts_are_right(corpus):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for split, sentences in corpus.items():
        _, report = validate_tags(sentences, strict=True, path=SAMPLE / f"{split}.conll")
        assert (report.scheme, report.repairs) == ("IOB2", 0)
        stats = corpus_stats(sentences)
        entities = stats["entities"]
        row = f"| {split} | {stats['documents']} | {stats['sentences']} | {stats['tokens']} | {entities['PER']} | {entities['ORG']} | {entities['LOC']} | {entities['MISC']} |"
        assert row in readme


def test_size_and_shape(corpus):
    stats = {split: corpus_stats(sentences) for split, sentences in corpus.items()}
    assert sum(s["sentences"] for s in stats.values()) >= 700
    assert sum(s["documents"] for s in stats.values()) >= 20
    for split, s in stats.items():
        assert s["documents"] >= 3, split
        assert set(s["entities"]) == {"PER", "ORG", "LOC", "MISC"}, split
        assert min(s["entities"].values()) >= 15, split
    long_sentences = {split: sum(len(x) > 200 for x in sentences) for split, sentences in corpus.items()}
    assert long_sentences["train"] >= 2 and long_sentences["dev"] >= 1 and long_sentences["test"] >= 1
    sentences = [x for split in SPLITS for x in corpus[split]]
    assert sum(1 for x in sentences if set(x.ner_tags) == {"O"}) >= 10  # some sentences without an entity
    multi_word = sum(1 for x in sentences for _, start, end in get_spans(x.ner_tags) if end - start > 1)
    assert multi_word >= 300
    # Entities of different types with no word between them (B-MISC B-PER).
    assert any(
        a[2] == b[1] and a[0] != b[0] for x in sentences for a, b in zip(get_spans(x.ner_tags), get_spans(x.ner_tags)[1:])
    )


def test_one_surface_one_type_and_unseen_names_in_dev_and_test(corpus):
    types = {}
    surfaces = {split: set() for split in SPLITS}
    for split, sentences in corpus.items():
        for sentence in sentences:
            for entity_type, start, end in get_spans(sentence.ner_tags):
                surface = " ".join(sentence.tokens[start:end]).lower()
                assert types.setdefault(surface, entity_type) == entity_type, surface
                surfaces[split].add(surface)
    for split in ("dev", "test"):
        unseen = surfaces[split] - surfaces["train"]
        assert len(unseen) >= 0.2 * len(surfaces[split]), split  # not a memorisation test
    # Each type has unseen names somewhere in dev/test.
    unseen_types = Counter(types[s] for split in ("dev", "test") for s in surfaces[split] - surfaces["train"])
    assert all(unseen_types[t] > 0 for t in ("PER", "ORG", "LOC", "MISC")), unseen_types

"""Standard Hugging Face loading of a model trained with the case feature (issue #18, item 1).

A tiny random BERT folder that records the case feature gets the folder's code (``nerkit.standard_loading``);
then transformers' own ``AutoTokenizer`` and ``pipeline`` with ``trust_remote_code=True`` build the same
``token_type_ids`` as nerkit's inputs, the pipeline without it stops at once (also with a terminal on stdin,
where transformers could otherwise ask a question), and nerkit's own loading needs nothing extra. A model
without the case feature is saved as before. The trained end-to-end check (card snippets against NerTagger)
is in ``tests/test_case_feature.py``.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

import predict_ner
from nerkit.inference import NerTagger
from nerkit.inputs import case_types
from nerkit.modeling import load_tokenizer
from nerkit.standard_loading import MODULE_FILE, is_case_feature_tokenizer, write_standard_loading
from script_runner import call
from tiny_models import make_model_dir

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Ada", "Lovelace", "met", "IBM", "in", "london", "iPhone", "U.S.", "x-Ray", "é"]
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]


def with_case_feature(folder: Path, on: bool = True) -> Path:
    config = json.loads((folder / "config.json").read_text())
    config["case_feature"] = on
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture()
def case_model(tmp_path):
    folder = with_case_feature(make_model_dir(tmp_path / "case-model", WORDS + ["apple", "lake"], labels=LABELS))
    assert write_standard_loading(folder)
    return folder


class Arguments:
    """What ``nerkit.modeling.load_tokenizer`` reads of the scripts' model arguments."""

    def __init__(self, name):
        self.model_name_or_path, self.tokenizer_name = str(name), None
        self.cache_dir = self.model_revision = self.token = None
        self.trust_remote_code = False


def test_the_folder_names_the_code_and_nerkit_loads_the_plain_tokenizer(case_model):
    from transformers import AutoConfig

    assert (case_model / MODULE_FILE).read_text() == (ROOT / "nerkit" / MODULE_FILE).read_text()
    tokenizer_config = json.loads((case_model / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "CaseFeatureTokenizer"
    assert tokenizer_config["auto_map"]["AutoTokenizer"] == [None, "case_feature_tokenizer.CaseFeatureTokenizer"]
    assert is_case_feature_tokenizer(str(case_model))
    assert "token-classification" in AutoConfig.from_pretrained(case_model).custom_pipelines
    # nerkit: no remote code, the fast tokenizer underneath (nerkit sets the types itself).
    tokenizer = load_tokenizer(Arguments(case_model), AutoConfig.from_pretrained(case_model))
    assert type(tokenizer).__name__ == "TokenizersBackend" and tokenizer.is_fast
    assert not getattr(tokenizer, "sets_case_feature", False)
    # The code is self-contained: nothing of nerkit is imported.
    assert "nerkit" not in "".join(line for line in (case_model / MODULE_FILE).read_text().splitlines()
                                   if line.startswith(("import", "from")))


def test_auto_tokenizer_with_trust_remote_code_sets_the_types_nerkit_builds(case_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(case_model, trust_remote_code=True)
    assert type(tokenizer).__name__ == "CaseFeatureTokenizer"
    plain = load_tokenizer(Arguments(case_model), None)
    sentences = [WORDS, ["the", "Lake", "APPLE"], ["apple"]]
    for words in sentences:
        pieces = plain(words, is_split_into_words=True, add_special_tokens=False)
        expected = [0] + case_types(words, pieces.word_ids()) + [0]
        encoded = tokenizer(words, is_split_into_words=True)
        assert encoded["token_type_ids"] == expected
        assert encoded["input_ids"] == plain(words, is_split_into_words=True)["input_ids"]
        # Raw text whose words are separated by spaces: the same types.
        assert tokenizer(" ".join(words))["token_type_ids"] == expected
    # A padded batch of tensors, as a user's code or the pipeline asks for it: rows as above, padding 0.
    batch = tokenizer(sentences, is_split_into_words=True, padding=True, return_tensors="pt")
    for row, words in enumerate(sentences):
        single = tokenizer(words, is_split_into_words=True)["token_type_ids"]
        assert batch["token_type_ids"][row].tolist() == single + [0] * (batch["input_ids"].shape[1] - len(single))
    # Overflowing windows keep each token's type.
    windows = tokenizer(" ".join(WORDS * 3), max_length=8, stride=2, truncation=True, return_overflowing_tokens=True)
    for ids, types in zip(windows["input_ids"], windows["token_type_ids"]):
        assert len(ids) == len(types) and types[0] == 0


def test_pipeline_with_trust_remote_code_feeds_the_model_nerkits_types(case_model):
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(case_model), aggregation_strategy="first",
                   trust_remote_code=True, device="cpu")
    assert type(ner).__name__ == "CaseFeaturePipeline" and type(ner.tokenizer).__name__ == "CaseFeatureTokenizer"
    plain = load_tokenizer(Arguments(case_model), None)
    for words in (WORDS, ["lake", "Apple", "met", "ADA"]):
        pieces = plain(words, is_split_into_words=True, add_special_tokens=False)
        expected = [0] + case_types(words, pieces.word_ids()) + [0]
        model_inputs = next(iter(ner.preprocess(" ".join(words), **ner._preprocess_params)))
        assert model_inputs["token_type_ids"][0].tolist() == expected
        assert isinstance(ner(" ".join(words)), list)


def test_pipeline_words_are_the_case_words_and_tags_an_allowed_sequence(case_model):
    """Random weights tag anything: the pipeline's entities are still whole white-space words (or given words),
    their tags what nerkit's constrained decoding picks from the same scores (no I-X after O)."""
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(case_model), aggregation_strategy="first",
                   trust_remote_code=True, device="cpu")
    tagger = NerTagger.load(str(case_model), device="cpu", dtype="float32", constrained=True, pack_length=0)
    sentences = [["lake", "Apple", "met", "ADA", "in", "london"] * 3, ["apple", "Lake"] * 5, ["Ada", "met", "iPhone"]]
    for words in sentences:
        text = " ".join(words)
        expected = [(e["start"], e["end"], e["label"]) for e in tagger.predict_texts([text])[0]["entities"]]
        assert [(e["start"], e["end"], e["entity_group"]) for e in ner(text)] == expected
    # Given words (O included, so that every word is in some group): groups of whole words, "U.S." one word.
    given = ner(["Ada", "U.S.", "x-Ray", "met"], is_split_into_words=True, ignore_labels=[])[0]
    assert given and given[0]["start"] == 0 and given[-1]["end"] == 18
    assert all(entity["start"] in {0, 4, 9, 15} and entity["end"] in {3, 8, 14, 18} for entity in given)


def test_best_allowed_path_never_puts_i_after_o():
    module = load_module()
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    import numpy as np

    scores = np.log(np.array([[0.1, 0.1, 0.6, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6], [0.7, 0.1, 0.1, 0.05, 0.05]]))
    path = [labels[label] for label, _ in module.best_allowed_path(scores, labels)]
    assert path == ["B-PER", "I-PER", "O"] or path == ["B-ORG", "I-ORG", "O"]
    assert module.best_allowed_path(scores[2:], labels)[0][0] == 0


def load_module():
    import importlib

    return importlib.import_module("nerkit.case_feature_tokenizer")


def test_pipeline_refuses_a_tokenizer_that_does_not_set_the_types(case_model):
    from transformers import pipeline

    plain = load_tokenizer(Arguments(case_model), None)
    with pytest.raises(ValueError, match="reads case through token_type_ids"):
        pipeline("token-classification", model=str(case_model), tokenizer=plain, trust_remote_code=True)


SCRIPT = """
import sys, time
from transformers import pipeline
started = time.time()
try:
    pipeline("token-classification", model=sys.argv[1])
except ValueError as error:
    print(f"refused after {time.time() - started:.1f} s: {error}")
"""


@pytest.mark.parametrize("stdin", ["terminal", "none"])
def test_pipeline_without_trust_remote_code_stops_at_once_with_transformers_message(case_model, stdin):
    """No question on a terminal (transformers asks one, for 15 s, in some remote-code cases): the error at once."""
    main, other = pty.openpty() if stdin == "terminal" else (None, None)
    started = time.time()
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(case_model)], capture_output=True, text=True,
                            stdin=other if other is not None else subprocess.DEVNULL, timeout=120,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    for descriptor in (main, other):
        if descriptor is not None:
            os.close(descriptor)
    assert "refused after" in result.stdout, result.stderr[-2000:]
    assert "trust_remote_code=True" in result.stdout
    assert float(result.stdout.split("refused after ")[1].split(" s")[0]) < 5
    assert time.time() - started < 100


def test_nerkit_paths_load_it_without_trust_remote_code(case_model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Ada Lovelace met IBM in london.\n")
    assert call(predict_ner.main, ["--model", case_model, "--input", text, "--output", tmp_path / "out.jsonl",
                                   "--quiet"]) == 0
    assert json.loads((tmp_path / "out.jsonl").read_text())["tokens"][:2] == ["Ada", "Lovelace"]


def test_a_model_without_the_case_feature_is_saved_as_before(tmp_path):
    folder = with_case_feature(make_model_dir(tmp_path / "plain", WORDS, labels=LABELS), on=False)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert not write_standard_loading(folder)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert not is_case_feature_tokenizer(str(folder))


def test_a_model_trained_further_without_it_loses_the_pipeline_entry(case_model):
    with_case_feature(case_model, on=False)  # what --case_feature off records, the config otherwise inherited
    assert not write_standard_loading(case_model)
    assert "custom_pipelines" not in json.loads((case_model / "config.json").read_text())

"""Tokenised splits are cached by ``datasets`` fingerprints: the same data and tokenizer are not tokenised twice."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from transformers import AutoTokenizer

from nerkit import features as features_module
from nerkit.arguments import DataTrainingArguments
from nerkit.data import load_data
from nerkit.features import prepare_features
from nerkit.layout import InputLayout, resolve_window

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


@pytest.fixture
def counted_tokenisation(monkeypatch):
    calls = []
    original = features_module.tokenize_words

    def counting(batch, tokenizer):
        calls.append(len(batch["tokens"]))
        return original(batch, tokenizer)

    monkeypatch.setattr(features_module, "tokenize_words", counting)
    return calls


def build(tiny_model, cache_dir, samples=50, overwrite=False):
    data_args = DataTrainingArguments(train_file=str(SAMPLE / "train.conll"), max_train_samples=samples,
                                      overwrite_cache=overwrite)
    # Read afresh; the split's Arrow file and everything cached from it go to cache_dir.
    raw = load_data(data_args, SimpleNamespace(cache_dir=str(cache_dir)), splits=("train",)).to_dataset_dict()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    features = prepare_features(raw, tokenizer, {label: i for i, label in enumerate(LABELS)}, data_args,
                                InputLayout(*resolve_window(None, None, tokenizer)), cache_dir=str(cache_dir))
    return features["train"]


def test_second_run_reads_the_cache_and_overwrite_cache_recomputes(tiny_model, tmp_path, counted_tokenisation):
    first = build(tiny_model, tmp_path)
    assert sum(counted_tokenisation) == 50
    assert first.cache_files and all(Path(file["filename"]).is_relative_to(tmp_path) for file in first.cache_files)
    second = build(tiny_model, tmp_path)
    assert sum(counted_tokenisation) == 50  # nothing tokenised again
    assert second["input_ids"] == first["input_ids"] and second["labels"] == first["labels"]
    build(tiny_model, tmp_path, overwrite=True)
    assert sum(counted_tokenisation) == 100


def test_other_data_is_not_served_from_the_cache(tiny_model, tmp_path, counted_tokenisation):
    build(tiny_model, tmp_path, samples=50)
    other = build(tiny_model, tmp_path, samples=30)
    assert sum(counted_tokenisation) == 80
    assert sorted(set(other["sentence_id"])) == list(range(30))  # the 30 sentences asked for, not the 50 cached

"""Packed sentences kept apart (``--pack_attention sentence``, the default): several sentences share an input,
and the model computes for each what it computes for the sentence alone."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import run_ner
from conftest import SAMPLE
from nerkit.features import FeatureSpec, build_features, tokenize_dataset
from nerkit.formats import read_sentences
from nerkit.inference import NerTagger
from nerkit.packing import (
    PackingCollator,
    block_attention_mask,
    isolating_position_offset,
    plan_packs,
    position_offset_candidates,
)
from script_runner import call
from tiny_models import make_tokenizer


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_sentence_is_in_exactly_one_pack_and_packs_are_full(seed):
    lengths = np.random.default_rng(seed).integers(3, 60, size=1000).tolist() + [300, 129]  # two too long to share
    packs = plan_packs(lengths, budget=128, seed=seed)
    assert sorted(row for pack in packs for row in pack) == list(range(len(lengths)))
    assert all(sum(lengths[row] for row in pack) <= 128 for pack in packs if len(pack) > 1)
    assert [1000] in packs and [1001] in packs
    shared = [pack for pack in packs if len(pack) > 1]
    positions = 128 * len(shared)
    assert positions / sum(lengths[row] for pack in shared for row in pack) < 1.05  # little room left over


def test_a_random_pool_mixes_sentences_from_all_over_the_split():
    packs = plan_packs([10] * 512, budget=40, seed=0)
    # Not neighbours: the rows of a pack are spread over the pool, not consecutive.
    assert any(max(pack) - min(pack) > 20 for pack in packs)


def test_the_mask_lets_each_position_see_its_own_sentence_only():
    positions = torch.tensor([[0, 1, 2, 0, 1, 0, 0]])  # two sentences, then two positions of padding
    real = torch.tensor([[1, 1, 1, 1, 1, 0, 0]])
    allowed = block_attention_mask(positions, real)[0, 0] == 0
    expected = torch.tensor([
        [1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0],  # padding sees itself: no softmax row without a key
        [0, 0, 0, 0, 0, 0, 1],
    ], dtype=torch.bool)
    assert torch.equal(allowed, expected)


@pytest.fixture(scope="module")
def sample_sentences():
    import datasets

    sentences = read_sentences(SAMPLE / "train.conll")
    return datasets.Dataset.from_dict({"tokens": [s.tokens for s in sentences], "ner_tags": [s.ner_tags for s in sentences],
                                       "document_id": [s.document_id or "" for s in sentences]})


def packed_and_alone(sentences, tokenizer, label2id, pack_length=128, case_feature=False):
    tokens = tokenize_dataset(sentences, tokenizer, load_from_cache_file=False)
    spec = FeatureSpec(max_seq_length=128, case_feature=case_feature)
    packed = build_features(tokens, tokenizer, label2id, replace(spec, pack_length=pack_length, packed_position_offset=0),
                            load_from_cache_file=False)
    alone = build_features(tokens, tokenizer, label2id, spec, load_from_cache_file=False)
    return packed, alone


COLUMNS = ("input_ids", "labels", "token_type_ids", "word_index", "word_sentence")


def test_packed_inputs_hold_each_sentence_between_its_own_special_tokens(sample_sentences):
    tokenizer = make_tokenizer(word for words in sample_sentences["tokens"] for word in words)
    label2id = {tag: i for i, tag in enumerate(sorted({t for tags in sample_sentences["ner_tags"] for t in tags}))}
    packed, alone = packed_and_alone(sample_sentences, tokenizer, label2id, case_feature=True)
    assert len(packed) < len(alone) * 0.7
    assert max(len(ids) for ids in packed["input_ids"]) <= 128
    from collections import Counter

    windows = Counter(alone["sentence_id"])
    assert 0 < sum(count > 1 for count in windows.values()) < 10  # a few sentences are too long: windowed alone
    by_sentence = {row["sentence_id"]: row for row in alone if windows[row["sentence_id"]] == 1}
    seen = []
    for row in packed:
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0]
        ends = starts[1:] + [len(row["input_ids"])]
        for start, end in zip(starts, ends):
            sentence = {name: row[name][start:end] for name in COLUMNS}
            own = next(s for s in sentence["word_sentence"] if s >= 0) if max(sentence["word_sentence"]) >= 0 else None
            if own not in by_sentence:
                continue
            seen.append(own)
            single = by_sentence[own]
            # The same sub-words, labels, case types and word positions as the sentence alone: [CLS] ... [SEP].
            for name in COLUMNS:
                assert sentence[name] == single[name], name
            assert row["position_ids"][start:end] == list(range(end - start))
    assert sorted(seen) == sorted(s for s in by_sentence if max(by_sentence[s]["word_sentence"]) >= 0)


def test_a_model_gives_packed_sentences_the_logits_it_gives_them_alone(sample_sentences, tiny_model):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=5).eval()
    packed, alone = packed_and_alone(sample_sentences.select(range(40)), tokenizer, None)
    collate = PackingCollator(DataCollatorForTokenClassification(tokenizer))
    columns = ["input_ids", "attention_mask", "labels"]

    def word_logits(features, extra):
        batch = collate([{name: row[name] for name in columns + extra} for row in features])
        with torch.no_grad():
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        found = {}
        for row, features_row in enumerate(features):
            for position, (sentence, word) in enumerate(zip(features_row["word_sentence"], features_row["word_index"])):
                if word >= 0:
                    found[sentence, word] = logits[row, position]
        return found

    together, separately = word_logits(packed, ["position_ids"]), word_logits(alone, [])
    assert together.keys() == separately.keys() and len(together) > 100
    for key in together:
        torch.testing.assert_close(together[key], separately[key], atol=1e-5, rtol=1e-4)


def tiny(config_class, model_class, tokenizer, **extra):
    import transformers

    config = getattr(transformers, config_class)(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                                 num_attention_heads=2, intermediate_size=37, **extra)
    return getattr(transformers, model_class)(config)


@pytest.mark.parametrize("config_class, model_class, extra, offset", [
    ("BertConfig", "BertForTokenClassification", {}, 0),
    ("RobertaConfig", "RobertaForTokenClassification", {"pad_token_id": 1}, 2),  # positions start after padding
    ("ElectraConfig", "ElectraForTokenClassification", {}, 0),
    # DeBERTa-v2 builds its own attention mask from a 2D one: it cannot keep packed sentences apart.
    ("DebertaV2Config", "DebertaV2ForTokenClassification",
     {"relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"]}, None),
])
def test_the_model_is_checked_for_taking_packed_sentences(config_class, model_class, extra, offset):
    tokenizer = make_tokenizer(["packed", "sentences", "kept", "apart", "by", "the", "mask"] * 3)
    model = tiny(config_class, model_class, tokenizer, **extra).train()
    assert isolating_position_offset(model, tokenizer, position_offset_candidates(model.config)) == offset
    assert model.training  # left as it was


def test_training_packed_records_it_and_evaluates_as_one_sentence_per_input(tmp_path, tiny_model):
    """Packing is the default: the model records it; its evaluation packed and one sentence per input agree
    (fp32, so only summation order differs), and training spends less on padding."""
    common = ["--validation_file", SAMPLE / "dev.conll", "--do_eval", "--test_file", SAMPLE / "test.conll", "--do_predict",
              "--report_to", "none", "--disable_tqdm", "true", "--no_cpu_bf16"]
    trained = tmp_path / "packed"
    assert call(run_ner.main, common + ["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll",
                                        "--do_train", "--output_dir", trained, "--num_train_epochs", 1,
                                        "--save_strategy", "no", "--learning_rate", "1e-3"]) == 0
    config = json.loads((trained / "config.json").read_text())
    assert (config["pack_length"], config["pack_attention"], config["packed_position_offset"]) == (128, "sentence", 0)
    unpacked = tmp_path / "unpacked"
    assert call(run_ner.main, common + ["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll",
                                        "--do_train", "--output_dir", unpacked, "--num_train_epochs", 1,
                                        "--save_strategy", "no", "--pack_length", 0]) == 0
    performance = {name: json.loads((tmp_path / name / "performance.json").read_text()) for name in ("packed", "unpacked")}
    # Every sentence's sub-words, special tokens included, once an epoch either way; less padding packed.
    assert performance["packed"]["train_real_tokens"] == performance["unpacked"]["train_real_tokens"]
    assert performance["packed"]["train_padded_per_real"] < performance["unpacked"]["train_padded_per_real"]

    def evaluate(name, *options):
        assert call(run_ner.main, common + ["--model_name_or_path", trained, "--output_dir", tmp_path / name, *options]) == 0
        return json.loads((tmp_path / name / "eval_results.json").read_text())

    packed, alone = evaluate("eval-packed"), evaluate("eval-alone", "--pack_length", 0)
    assert packed["eval_loss"] == pytest.approx(alone["eval_loss"], rel=1e-5)
    assert packed["eval_f1"] == alone["eval_f1"]
    assert (tmp_path / "eval-packed" / "predictions.conll").read_text() == \
        (tmp_path / "eval-alone" / "predictions.conll").read_text()
    # Packed sentences that read each other do change what the model computes.
    assert evaluate("eval-input", "--pack_attention", "input")["eval_loss"] != pytest.approx(alone["eval_loss"], rel=1e-5)

    # nerkit.inference (predict_ner.py) packs as the model was trained, and tags as it would one sentence per input.
    sentences = read_sentences(SAMPLE / "test.conll")[:60]
    texts = [" ".join(sentence.tokens) for sentence in sentences]
    packed_tagger = NerTagger.load(str(trained), device="cpu", dtype="float32")
    alone_tagger = NerTagger.load(str(trained), device="cpu", dtype="float32", pack_length=0)
    assert (packed_tagger.spec.pack_length, packed_tagger.spec.packed_position_offset) == (128, 0)
    assert alone_tagger.spec.pack_length == 0
    together, separately = packed_tagger.predict_texts(texts), alone_tagger.predict_texts(texts)
    assert [record["tags"] for record in together] == [record["tags"] for record in separately]
    assert any(record["entities"] for record in together)
    for one, other in zip(together, separately):
        assert [(e["start"], e["end"], e["label"]) for e in one["entities"]] == \
            [(e["start"], e["end"], e["label"]) for e in other["entities"]]
        assert [e["score"] for e in one["entities"]] == pytest.approx([e["score"] for e in other["entities"]], abs=1e-5)

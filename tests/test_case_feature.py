"""The case feature: token type 1 on words with an upper-case letter, for models whose tokenizer lower-cases."""

import json
import random

import datasets
import pytest

import predict_ner
import run_ner
import run_ner_no_trainer
from nerkit.errors import UserError
from nerkit.features import FeatureSpec, build_features, tokenize_dataset
from nerkit.inference import NerTagger
from nerkit.inputs import case_types
from nerkit.modeling import lowercases, resolve_case_feature
from script_runner import call
from tiny_models import make_model_dir, make_tokenizer

VOCAB = ["ada", "paris", "river", "north", "stone", "green", "bank", "city", "mill", "lake", "hill", "court",
         "house", "field", "park", "road", "bridge", "moor"]
LABEL2ID = {"O": 0, "B-PER": 1, "I-PER": 2}


def casing_corpus(seed: int, sentences: int):
    """Sentences of the same lower-case words, some capitalised or upper-cased: a capital is the only cue that
    a word is a name (B-PER), so a model that cannot see case cannot do better than guessing."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(sentences):
        words, tags = [], []
        for word in (rng.choice(VOCAB) for _ in range(rng.randint(5, 10))):
            style = rng.random()
            if style < 0.25:
                words.append(word.capitalize()), tags.append("B-PER")
            elif style < 0.3:
                words.append(word.upper()), tags.append("B-PER")
            else:
                words.append(word), tags.append("O")
        corpus.append((words, tags))
    return corpus


def write_conll(path, corpus):
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(words, tags)) + "\n" for words, tags in corpus))
    return path


def features(spec, corpus, documents=None, tokenizer=None):
    tokenizer = tokenizer or make_tokenizer(VOCAB)
    raw = datasets.Dataset.from_dict({"tokens": [w for w, _ in corpus], "ner_tags": [t for _, t in corpus],
                                      "document_id": documents or [""] * len(corpus)})
    tokenized = tokenize_dataset(raw, tokenizer, load_from_cache_file=False)
    return tokenized, build_features(tokenized, tokenizer, LABEL2ID, spec, load_from_cache_file=False)


# --- inputs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [FeatureSpec(max_seq_length=64, case_feature=True, pack_length=64),
                                  FeatureSpec(max_seq_length=64, case_feature=True, context_size=8),
                                  FeatureSpec(max_seq_length=12, stride=3, case_feature=True)],
                         ids=["packed", "context", "windows"])
def test_token_types_mark_every_sub_word_of_a_word_with_a_capital(spec):
    corpus = casing_corpus(seed=3, sentences=12) + [(["Zanzibar", "qq", "MacKay"], ["B-PER", "O", "B-PER"])]
    tokenized, with_case = features(spec, corpus, documents=["doc"] * len(corpus))
    _, without_case = features(FeatureSpec(**{**spec.__dict__, "case_feature": False}), corpus, documents=["doc"] * len(corpus))
    assert "token_type_ids" not in without_case.column_names
    # The same sub-words either way ("Ada" and "ada" are one id for an uncased tokenizer): only the types differ.
    assert with_case["input_ids"] == without_case["input_ids"]
    # Every position's type is the case of the word its sub-word comes from, context and special tokens included.
    type_of_id = {}
    for row in range(len(corpus)):
        for piece, kind in zip(tokenized[row]["piece_ids"], case_types(corpus[row][0], tokenized[row]["piece_words"])):
            type_of_id.setdefault(piece, set()).add(kind)
    for ids, types in zip(with_case["input_ids"], with_case["token_type_ids"]):
        assert len(types) == len(ids) and types[0] == 0 and types[-1] == 0  # [CLS], [SEP]
        for piece, kind in zip(ids[1:-1], types[1:-1]):
            assert kind in type_of_id[piece]
    assert any(1 in types for types in with_case["token_type_ids"])
    assert any(1 in types[1:-1] and 0 in types[1:-1] for types in with_case["token_type_ids"])


def test_case_types_per_sub_word():
    assert case_types(["iPhone", "NASA", "x", "Ü"], [0, 0, 1, 2, 3, 3]) == [1, 1, 1, 0, 1, 1]


# --- when it is on --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uncased_model(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("uncased"), VOCAB, labels=list(LABEL2ID))


def loaded(folder):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder)), AutoModelForTokenClassification.from_pretrained(str(folder))


def test_auto_trains_an_uncased_model_with_it_and_evaluates_a_model_as_it_was_trained(uncased_model):
    tokenizer, model = loaded(uncased_model)
    assert lowercases(tokenizer)
    assert resolve_case_feature("auto", tokenizer, model, "m", do_train=True) is True
    # A fine-tuned model that does not record the feature was trained without it: evaluated without it.
    assert resolve_case_feature("auto", tokenizer, model, "m", do_train=False) is False
    model.config.case_feature = True
    assert resolve_case_feature("auto", tokenizer, model, "m", do_train=False) is True
    model.config.case_feature = False
    assert resolve_case_feature("auto", tokenizer, model, "m", do_train=True) is False
    assert resolve_case_feature("on", tokenizer, model, "m", do_train=True) is True
    assert resolve_case_feature("off", tokenizer, model, "m", do_train=True) is False


def test_auto_is_off_for_a_cased_tokenizer_and_on_needs_two_token_types(uncased_model):
    from tokenizers import normalizers

    tokenizer, model = loaded(uncased_model)
    cased = make_tokenizer(VOCAB + [w.capitalize() for w in VOCAB] + ["Paris", "IBM", "paris", "ibm"])
    cased.backend_tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    assert not lowercases(cased)
    assert resolve_case_feature("auto", cased, model, "m", do_train=True) is False
    model.config.type_vocab_size = 1
    assert resolve_case_feature("auto", tokenizer, model, "m", do_train=True) is False
    with pytest.raises(UserError, match="two token types"):
        resolve_case_feature("on", tokenizer, model, "m", do_train=True)


# --- end to end -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["trainer", "no_trainer"])
def test_a_model_trained_with_it_learns_what_only_case_tells(tmp_path, script):
    """On data where a capital is the only sign of a name, the feature is what lets an uncased model learn it;
    the trained model records it, and predict_ner.py uses it as run_ner.py does."""
    train = write_conll(tmp_path / "train.conll", casing_corpus(seed=1, sentences=240))
    test = write_conll(tmp_path / "test.conll", casing_corpus(seed=2, sentences=60))
    encoder = make_model_dir(tmp_path / "encoder", VOCAB)
    main, extra = ((run_ner.main, ["--report_to", "none", "--save_strategy", "no", "--disable_tqdm", "true"])
                   if script == "trainer" else (run_ner_no_trainer.main, []))
    f1 = {}
    for case in ("auto", "off"):
        out = tmp_path / case
        assert call(main, ["--model_name_or_path", encoder, "--train_file", train, "--validation_file", test,
                           "--test_file", test, "--do_train", "--do_eval", "--do_predict", "--output_dir", out,
                           "--num_train_epochs", 4, "--learning_rate", 3e-3, "--per_device_train_batch_size", 16,
                           "--seed", 1, "--case_feature", case, *extra]) == 0
        assert json.loads((out / "config.json").read_text())["case_feature"] is (case == "auto")
        f1[case] = json.loads((out / "all_results.json").read_text())["eval_f1"]
    assert f1["auto"] >= 0.9 > 0.6 >= f1["off"]

    # predict_ner.py reads the record and builds the same inputs: the same tags as run_ner's --do_predict.
    expected = [json.loads(line)["predicted_tags"] for line in (tmp_path / "auto" / "predictions.jsonl").read_text().splitlines()]
    assert call(predict_ner.main, ["--model", tmp_path / "auto", "--input", test, "--output", tmp_path / "p.jsonl",
                                   "--quiet"]) == 0
    predicted = [json.loads(line)["tags"] for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert predicted == expected

    # The model card's transformers snippets (trust_remote_code=True: the folder's own case_feature_tokenizer.py
    # sets token_type_ids) give what NerTagger gives: the Auto classes the same tags, the pipeline the same
    # entities on the test sentences; the folder of the model trained without the feature has no such code.
    assert (tmp_path / "auto" / "case_feature_tokenizer.py").is_file()
    assert not (tmp_path / "off" / "case_feature_tokenizer.py").exists()
    assert "auto_map" not in json.loads((tmp_path / "off" / "tokenizer_config.json").read_text())
    card = (tmp_path / "auto" / "README.md").read_text()
    pipeline_snippet, auto_snippet = [block.split("```")[0] for block in card.split("```python\n")[1:3]]
    assert "trust_remote_code=True" in pipeline_snippet and "trust_remote_code=True" in auto_snippet
    scope, pipeline_scope = {}, {}
    exec(auto_snippet, scope)
    tagger = NerTagger.load(str(tmp_path / "auto"), device="cpu", dtype="float32")
    assert scope["tags"] == tagger.predict_texts([" ".join(scope["words"])])[0]["tags"]
    assert "B-PER" in scope["tags"] and "O" in scope["tags"]
    exec(pipeline_snippet, pipeline_scope)
    texts = [" ".join(words) for words, _ in casing_corpus(seed=2, sentences=60)]
    constrained = NerTagger.load(str(tmp_path / "auto"), device="cpu", dtype="float32", constrained=True)
    expected = [[(e["start"], e["end"], e["label"]) for e in record["entities"]]
                for record in constrained.predict_texts(texts)]
    found = [[(e["start"], e["end"], e["entity_group"]) for e in entities] for entities in pipeline_scope["ner"](texts)]
    assert found == expected and sum(map(len, found)) > 60

"""run_ner.py end to end on tiny random models: arguments, formats, labels, windows, outputs and errors."""

import json
from pathlib import Path

import pytest

import run_ner
from nerkit.formats import FormatOptions, read_sentences, write_sentences
from nerkit.schemes import first_violation, get_spans
from tiny_models import make_model_dir

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
FAST = ["--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--report_to", "none",
        "--save_strategy", "no", "--disable_tqdm", "true", "--seed", "1"]


def run(argv, capsys=None):
    """Run the script in-process; returns the exit status (0 when main returns)."""
    try:
        run_ner.main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code
    return 0


def words_of(path):
    return [s.tokens for s in read_sentences(path)]


def predicted_words(output_dir):
    """Words of predictions.conll, read back with the project's own CoNLL reader (word column 0)."""
    return [sentence.tokens for sentence in read_sentences(Path(output_dir) / "predictions.conll", "conll")]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A tiny random token classifier already trained (randomly) on the sample's labels, in a shuffled order."""
    words = [w for s in words_of(SAMPLE / "train.conll") for w in s]
    order = ["B-PER", "O", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    return make_model_dir(tmp_path_factory.mktemp("tiny-classifier"), words, labels=order), order


def test_train_evaluate_predict_writes_every_output(tmp_path, tiny_model):
    out = tmp_path / "out"
    status = run(["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll",
                  "--validation_file", SAMPLE / "dev.conll", "--test_file", SAMPLE / "test.conll",
                  "--max_train_samples", 48, "--max_eval_samples", 30, "--num_train_epochs", 1,
                  "--max_seq_length", 32, "--output_dir", out, "--do_train", "--do_eval", "--do_predict", *FAST])
    assert status == 0
    for name in ["model.safetensors", "config.json", "tokenizer.json", "all_results.json", "train_results.json",
                 "eval_results.json", "predict_results.json", "trainer_state.json", "eval_report.txt",
                 "predict_report.txt", "predictions.conll", "predictions.jsonl", "eval_errors.jsonl", "errors.jsonl", "eval_report.html",
                 "report.html"]:
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert set(config["id2label"].values()) == set(SAMPLE_LABELS)
    results = json.loads((out / "eval_results.json").read_text())
    assert {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "eval_per_type"} <= set(results)
    # SemEval-2013 scores beside seqeval's (its strict F1 is seqeval's), and per document, worst first
    assert results["eval_semeval"]["strict"]["f1"] == pytest.approx(results["eval_f1"])
    assert {"eval_exact_f1", "eval_partial_f1", "eval_type_f1"} <= set(results)
    f1s = [row["f1"] for row in results["eval_per_document"]]
    assert f1s and f1s == sorted(f1s)
    assert "SemEval-2013 scores" in (out / "eval_report.txt").read_text()
    # With 32 sub-words, the sample's 200+ word sentences are windowed: still one prediction per word.
    gold = words_of(SAMPLE / "test.conll")
    assert max(len(s) for s in gold) > 200
    assert predicted_words(out) == gold
    jsonl = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["tokens"] for r in jsonl] == gold
    assert all(len(r["predicted_tags"]) == len(r["tokens"]) for r in jsonl)
    assert "precision" in (out / "predict_report.txt").read_text()

    from transformers import pipeline

    # trained with the case feature (the tiny model lower-cases): the folder's own code sets token_type_ids
    assert json.loads((out / "config.json").read_text())["case_feature"] is True
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="first", trust_remote_code=True)
    assert isinstance(tagger("Stefan visited Oakhallow"), list)


def test_arguments_from_json_and_yaml_files(tmp_path, tiny_model):
    arguments = {"model_name_or_path": str(tiny_model), "validation_file": str(SAMPLE / "dev.conll"),
                 "max_eval_samples": 10, "do_eval": True, "report_to": "none", "ignore_mismatched_sizes": True}
    json_file = tmp_path / "args.json"
    json_file.write_text(json.dumps(dict(arguments, output_dir=str(tmp_path / "from_json"))))
    # an untrained encoder has no labels: evaluating it needs labels from the data, i.e. --do_train; expect the error
    assert run([json_file]) == 2
    arguments.update(do_train=True, train_file=str(SAMPLE / "train.conll"), max_train_samples=8, max_steps=1)
    json_file.write_text(json.dumps(dict(arguments, output_dir=str(tmp_path / "from_json"))))
    assert run([json_file]) == 0
    yaml_file = tmp_path / "args.yaml"
    yaml_file.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in dict(arguments, output_dir=str(tmp_path / "from_yaml")).items()))
    assert run([yaml_file]) == 0
    assert json.loads((tmp_path / "from_json" / "eval_results.json").read_text())["eval_samples"] == 10
    assert (tmp_path / "from_yaml" / "eval_results.json").exists()


@pytest.mark.parametrize("format_name, file_name", [
    ("conll", "test.conll"), ("json", "test.jsonl"), ("csv", "test.csv"), ("text_labels", "text_test.txt"),
    ("offsets", "test.offsets.jsonl"), ("brat", "test_brat"),
])
def test_every_input_format_predicts_every_word(tmp_path, classifier, format_name, file_name):
    model, _ = classifier
    sentences = read_sentences(SAMPLE / "test.conll")[:25]
    path = tmp_path / file_name
    write_sentences(sentences, path, format_name, FormatOptions())
    expected = [s.tokens for s in read_sentences(path, format_name)]
    out = tmp_path / "out"
    assert run(["--model_name_or_path", model, "--test_file", path, "--input_format", format_name,
                "--output_dir", out, "--do_predict", *FAST]) == 0
    assert predicted_words(out) == expected


def test_pretrained_label_order_is_kept(tmp_path, classifier):
    model, order = classifier
    out = tmp_path / "out"
    assert run(["--model_name_or_path", model, "--train_file", SAMPLE / "train.conll", "--max_train_samples", 8,
                "--max_steps", 1, "--output_dir", out, "--do_train", *FAST]) == 0
    id2label = json.loads((out / "config.json").read_text())["id2label"]
    assert [id2label[str(i)] for i in range(len(order))] == order


def test_label_mismatch_is_an_error_unless_asked(tmp_path, capsys):
    words = [w for s in words_of(SAMPLE / "train.conll") for w in s]
    model = make_model_dir(tmp_path / "foo-model", words, labels=["O", "B-FOO", "I-FOO"])
    argv = ["--model_name_or_path", model, "--train_file", SAMPLE / "train.conll", "--max_train_samples", 8,
            "--max_steps", 1, "--do_train", *FAST]
    capsys.readouterr()  # drop what building the model printed
    assert run(argv + ["--output_dir", tmp_path / "a"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--ignore_mismatched_sizes" in error[0] and "Traceback" not in error[0]
    assert not (tmp_path / "a").exists()
    assert run(argv + ["--output_dir", tmp_path / "b", "--ignore_mismatched_sizes"]) == 0
    assert "B-PER" in json.loads((tmp_path / "b" / "config.json").read_text())["label2id"]


def test_non_empty_output_dir_is_refused(tmp_path, tiny_model, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert run(["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll", "--do_train",
                "--output_dir", out, *FAST]) == 2
    assert "--overwrite_output_dir" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1


def test_eval_only_and_label_all_tokens_count_words_not_subwords(tmp_path, classifier):
    model, _ = classifier
    supports = []
    for flag in ([], ["--label_all_tokens"]):
        out = tmp_path / f"out{len(flag)}"
        assert run(["--model_name_or_path", model, "--validation_file", SAMPLE / "dev.conll", "--do_eval",
                    "--output_dir", out, *flag, *FAST]) == 0
        per_type = json.loads((out / "eval_results.json").read_text())["eval_per_type"]
        supports.append({t: v["number"] for t, v in per_type.items() if v["number"]})
    gold = {}
    for sentence in read_sentences(SAMPLE / "dev.conll"):
        for entity_type, _, _ in get_spans(sentence.ner_tags):
            gold[entity_type] = gold.get(entity_type, 0) + 1
    assert supports[0] == supports[1] == gold


def test_integer_tags_need_a_label_list(tmp_path, classifier, capsys):
    model, _ = classifier
    path = tmp_path / "ints.jsonl"
    path.write_text('{"tokens": ["Stefan", "visited", "Oakhallow"], "ner_tags": [7, 0, 1]}\n')
    argv = ["--model_name_or_path", model, "--test_file", path, "--do_predict", *FAST]
    assert run(argv + ["--output_dir", tmp_path / "a"]) == 2
    assert "label" in capsys.readouterr().err
    assert run(argv + ["--output_dir", tmp_path / "b", "--label_list", ",".join(SAMPLE_LABELS)]) == 0
    record = json.loads((tmp_path / "b" / "predictions.jsonl").read_text())
    assert record["gold_tags"] == ["B-PER", "O", "B-LOC"]


def test_labels_only_in_validation_split_are_learned(tmp_path, tiny_model):
    train = tmp_path / "train.conll"
    train.write_text("Stefan B-PER\nwalked O\n\nAnna B-PER\nran O\n")
    dev = tmp_path / "dev.conll"
    dev.write_text("Oakhallow B-LOC\nis O\nsmall O\n")
    out = tmp_path / "out"
    assert run(["--model_name_or_path", tiny_model, "--train_file", train, "--validation_file", dev,
                "--do_train", "--do_eval", "--max_steps", 1, "--output_dir", out, *FAST]) == 0
    assert "B-LOC" in json.loads((out / "config.json").read_text())["label2id"]


def test_iob1_input_predicted_back_in_iob1_and_constrained_output_is_valid(tmp_path, classifier):
    model, _ = classifier
    iob1 = tmp_path / "test.iob1"
    lines = []
    for sentence in read_sentences(SAMPLE / "test.conll")[:30]:
        from nerkit.schemes import convert

        for word, tag in zip(sentence.tokens, convert(sentence.ner_tags, "iob2", "iob1")):
            lines.append(f"{word} {tag}")
        lines.append("")
    iob1.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert run(["--model_name_or_path", model, "--test_file", iob1, "--tagging_scheme", "iob1",
                "--constrained_decoding", "--output_dir", out, "--do_predict", *FAST]) == 0
    for record in map(json.loads, (out / "predictions.jsonl").read_text().splitlines()):
        assert first_violation(record["predicted_tags"], "iob1") is None
        assert first_violation(record["gold_tags"], "iob1") is None
        assert not any(t.startswith("B-") for t in record["gold_tags"][:1])  # IOB1 opens entities with I-


def test_dataset_name_as_local_folder_and_saved_dataset(tmp_path, classifier):
    """--dataset_name takes a folder of split files, or a DatasetDict saved like a hub dataset (ClassLabel ids)."""
    import datasets

    model, _ = classifier
    folder = tmp_path / "corpus"
    folder.mkdir()
    sentences = read_sentences(SAMPLE / "dev.conll")[:12]
    write_sentences(sentences, folder / "train.conll", "conll")
    write_sentences(sentences, folder / "dev.conll", "conll")
    out = tmp_path / "out_folder"
    assert run(["--model_name_or_path", model, "--dataset_name", folder, "--do_eval", "--output_dir", out, *FAST]) == 0
    assert json.loads((out / "eval_results.json").read_text())["eval_samples"] == 12

    names = SAMPLE_LABELS
    hub_like = datasets.DatasetDict({
        "validation": datasets.Dataset.from_dict(
            {"id": [str(i) for i in range(len(sentences))],
             "tokens": [s.tokens for s in sentences],
             "pos_tags": [[0] * len(s) for s in sentences],
             "ner_tags": [[names.index(t) for t in s.ner_tags] for s in sentences]},
            features=datasets.Features({
                "id": datasets.Value("string"),
                "tokens": datasets.Sequence(datasets.Value("string")),
                "pos_tags": datasets.Sequence(datasets.Value("int32")),
                "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
            }),
        )
    })
    hub_like.save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "out_saved"
    assert run(["--model_name_or_path", model, "--dataset_name", tmp_path / "saved", "--do_eval",
                "--output_dir", out, *FAST]) == 0
    per_type = json.loads((out / "eval_results.json").read_text())["eval_per_type"]
    gold = {}
    for s in sentences:
        for entity_type, _, _ in get_spans(s.ner_tags):
            gold[entity_type] = gold.get(entity_type, 0) + 1
    assert {t: v["number"] for t, v in per_type.items() if v["number"]} == gold


SAMPLE_LABELS_SORTED = sorted(SAMPLE_LABELS)
HUB_ORDER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]  # conll2003's


@pytest.mark.parametrize("script", ["run_ner", "run_ner_no_trainer"])
@pytest.mark.parametrize("names, expected", [
    (HUB_ORDER, HUB_ORDER),  # the dataset's ids are the model's ids, as upstream
    # BIOES names: the model is trained in IOB2, so its labels are not the dataset's and are sorted
    (["O"] + [f"{prefix}-{kind}" for kind in ("PER", "ORG", "LOC", "MISC") for prefix in "BIES"], SAMPLE_LABELS_SORTED),
])
def test_a_saved_datasets_class_label_order_becomes_the_label_ids(tmp_path, tiny_model, script, names, expected):
    import datasets

    import run_ner_no_trainer
    from nerkit.schemes import convert
    from script_runner import call

    scheme = "iob2" if "E-PER" not in names else "bioes"
    sentences = read_sentences(SAMPLE / "train.conll")[:16]
    tag_ids = [[names.index(tag) for tag in convert(s.ner_tags, "iob2", scheme)] for s in sentences]
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"tokens": [s.tokens for s in sentences], "ner_tags": tag_ids},
        features=datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                    "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))}),
    )}).save_to_disk(str(tmp_path / "saved"))
    main = {"run_ner": run_ner.main, "run_ner_no_trainer": run_ner_no_trainer.main}[script]
    extra = FAST if script == "run_ner" else ["--per_device_train_batch_size", "8"]
    assert call(main, ["--model_name_or_path", tiny_model, "--dataset_name", tmp_path / "saved", "--do_train",
                       "--num_train_epochs", "1", "--output_dir", tmp_path / "out", *extra]) == 0
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(config["id2label"]))] == expected


def test_slow_tokenizer_is_refused_with_the_model_name(tmp_path, classifier, capsys, monkeypatch):
    import transformers

    model, _ = classifier

    class SlowTokenizer:
        is_fast = False

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: SlowTokenizer())
    assert run(["--model_name_or_path", model, "--test_file", SAMPLE / "test.conll", "--do_predict",
                "--output_dir", tmp_path / "out", *FAST]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "slow" in error and str(model) in error


def test_roberta_style_tokenizer_gets_prefix_space(tmp_path):
    """Byte-level BPE tokenizers need add_prefix_space=True to take pre-split words; the script sets it."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForTokenClassification, RobertaTokenizerFast

    words = [w for s in words_of(SAMPLE / "train.conll") for w in s]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(words)], vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    folder = tmp_path / "tiny-roberta"
    folder.mkdir()
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizerFast(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=130, pad_token_id=1,
                           id2label=dict(enumerate(SAMPLE_LABELS)), label2id={l: i for i, l in enumerate(SAMPLE_LABELS)})
    RobertaForTokenClassification(config).save_pretrained(folder)
    out = tmp_path / "out"
    assert run(["--model_name_or_path", folder, "--test_file", SAMPLE / "test.conll", "--max_predict_samples", 20,
                "--do_predict", "--output_dir", out, *FAST]) == 0
    assert predicted_words(out) == words_of(SAMPLE / "test.conll")[:20]


def test_length_grouped_sampling_does_not_scramble_evaluation(tmp_path, classifier):
    """transformers v5 groups eval batches by length too; predictions must still line up with sentences."""
    model, _ = classifier
    results = []
    for strategy in ("random", "group_by_length"):
        out = tmp_path / strategy
        assert run(["--model_name_or_path", model, "--validation_file", SAMPLE / "dev.conll", "--do_eval",
                    "--train_sampling_strategy", strategy, "--per_device_eval_batch_size", 4,
                    "--output_dir", out, *FAST]) == 0
        result = json.loads((out / "eval_results.json").read_text())
        results.append({k: v for k, v in result.items() if not k.endswith(("runtime", "per_second", "_time"))})
    assert results[0] == results[1]


def test_class_weights_change_the_training_loss(tmp_path, tiny_model):
    losses = {}
    for setting in ("none", "auto"):
        out = tmp_path / setting
        assert run(["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll", "--max_train_samples", 16,
                    "--max_steps", 2, "--class_weights", setting, "--do_train", "--output_dir", out, *FAST]) == 0
        losses[setting] = json.loads((out / "train_results.json").read_text())["train_loss"]
    assert losses["none"] != losses["auto"]

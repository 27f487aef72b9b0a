"""predict_ner.py on a tiny random token classifier: offsets, formats, windows, agreement and errors."""

import io
import json
import random
import re
import sys
from pathlib import Path

import pytest

import predict_ner
from nerkit.formats import read_sentences
from nerkit.inference import Document, NerTagger
from nerkit.schemes import first_violation, get_spans
from nerkit.words import split_words, tokenize_text
from tiny_models import make_model_dir

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]

UNICODE_LINES = [
    "Zoë Ångström   visited Saint-Étienne café 👩‍👩‍👧‍👦 with José Núñez.",
    "",
    "Tabs\tand  double  spaces 🇫🇷 🏳️‍🌈 survive:\t\tAnna Velk left Oakhallow! Then   Stefan came…",
    "   ",
    "Ünïcödé ＦＵＬＬＷＩＤＴＨ 東京 and naïve façades ✌🏽 at the Crèvecœur Gallery",
]


def predict(argv):
    """Run the script in-process; returns the exit status."""
    try:
        return predict_ner.main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    words = [s for sentence in read_sentences(SAMPLE / "train.conll") for s in sentence.tokens]
    return make_model_dir(tmp_path_factory.mktemp("tiny-ner"), words, labels=LABELS)


def jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def conll_sentences(path):
    """[(words, tags)] per sentence and the number of -DOCSTART- lines of a CoNLL output."""
    sentences, current, docstarts = [], [], 0
    for line in Path(path).read_text(encoding="utf-8").split("\n"):
        if line.startswith("-DOCSTART-"):
            docstarts += 1
        elif not line.strip():
            if current:
                sentences.append(([w for w, *_ in current], [c[-1] for c in current]))
            current = []
        else:
            current.append(line.split(" "))
    return sentences, docstarts


def check_record(record, text):
    """Offsets and tags of one JSON-lines record are consistent with its text and the data-layer words."""
    assert record["text"] == text
    words = split_words(text)
    assert record["tokens"] == [w for w, _, _ in words]
    assert record["offsets"] == [[s, e] for _, s, e in words]
    assert len(record["tags"]) == len(words)
    for token, (start, end) in zip(record["tokens"], record["offsets"]):
        assert text[start:end] == token
    for entity in record["entities"]:
        assert set(entity) == {"start", "end", "label", "text", "score"}
        assert text[entity["start"] : entity["end"]] == entity["text"]
        assert 0.0 <= entity["score"] <= 1.0
    # the entities are exactly the spans of the tags, in characters
    spans = [(label, words[first][1], words[end - 1][2]) for label, first, end in get_spans(record["tags"])]
    assert [(e["label"], e["start"], e["end"]) for e in record["entities"]] == spans


def test_unicode_offsets_in_every_output_format(tmp_path, model):
    source = tmp_path / "input.txt"
    source.write_text("\n".join(UNICODE_LINES) + "\n", encoding="utf-8")
    out = {fmt: tmp_path / f"out.{fmt}" for fmt in ("jsonl", "conll", "inline", "html")}
    for fmt, path in out.items():
        assert predict(["--model", model, "--input", source, "--output", path, "--format", fmt, "--quiet"]) == 0

    records = jsonl(out["jsonl"])
    assert len(records) == len(UNICODE_LINES)  # empty and blank lines are empty documents: lines stay aligned
    for record, line in zip(records, UNICODE_LINES):
        check_record(record, line)
    assert records[1]["tokens"] == [] and records[3]["entities"] == []
    assert sum(len(r["entities"]) for r in records) > 3  # the random model does predict entities
    assert "👩‍👩‍👧‍👦" in records[0]["tokens"] and "🏳️‍🌈" in records[2]["tokens"]

    # conll: the same words and tags, sentence by sentence (the splitter's sentences)
    sentences, docstarts = conll_sentences(out["conll"])
    expected = [[w for w, _, _ in s] for line in UNICODE_LINES for s in tokenize_text(line)]
    assert [words for words, _ in sentences] == expected and docstarts == 0
    assert [t for _, tags in sentences for t in tags] == [t for r in records for t in r["tags"]]

    # inline: one line per input line; removing the [TAG] marks gives the text back, spacing and all
    inline = out["inline"].read_text(encoding="utf-8").split("\n")[:-1]
    assert len(inline) == len(UNICODE_LINES)
    mark = re.compile(r"\[(?:[BIES]-[A-Z]+)\]")
    for line, record, original in zip(inline, records, UNICODE_LINES):
        assert mark.sub("", line) == original
        assert [m[1:-1] for m in mark.findall(line)] == [t for t in record["tags"] if t != "O"]

    # html: one page; each document's text with its entities marked, the text back once the marks are removed
    import html as html_module

    page = out["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    paragraphs = re.findall(r'<div class="doc"><p>(.*?)</p></div>', page, flags=re.S)
    assert len(paragraphs) == len(UNICODE_LINES)
    for paragraph, record in zip(paragraphs, records):
        marks = re.findall(r'<mark class="t\d+" data-type="([^"]*)" title="[0-9.]+">(.*?)<b>', paragraph)
        assert [(label, html_module.unescape(text)) for label, text in marks] == [
            (e["label"], e["text"]) for e in record["entities"]]
        assert html_module.unescape(re.sub(r"<b>.*?</b>|<[^>]+>", "", paragraph)) == record["text"]


def test_document_longer_than_the_model_is_windowed(tmp_path, model):
    """One document of several paragraphs and a 400-word sentence (model maximum 128): every word tagged."""
    rng = random.Random(3)
    vocabulary = ["Stefan", "visited", "Oakhallow", "and", "the", "Velk", "company", "in", "Tarnholm", "café"]
    long_sentence = " ".join(rng.choice(vocabulary) for _ in range(400))
    text = f"First paragraph, short.\n\n{long_sentence}\n\n\tLast one 👍🏽  here.\n"
    source = tmp_path / "doc.txt"
    source.write_text(text, encoding="utf-8")
    runs = {}
    for extra in ([], ["--max_seq_length", "16", "--stride", "4"]):
        path = tmp_path / f"out{len(extra)}.jsonl"
        assert predict(["--model", model, "--input", source, "--output", path, "--document", "--quiet", *extra]) == 0
        (record,) = jsonl(path)
        check_record(record, text)
        assert len(record["tokens"]) > 400
        runs[len(extra)] = record
    # windowing changes what each word sees, never which words are tagged
    assert runs[0]["tokens"] == runs[4]["tokens"]


def test_tags_agree_with_run_ner_do_predict(tmp_path, model):
    """The same words through run_ner.py --do_predict and predict_ner.py (CoNLL input) get the same tags."""
    import run_ner

    # fp32 on both sides: in bf16, batches of other compositions round differently, and a random model has ties.
    fast = ["--report_to", "none", "--disable_tqdm", "true", "--per_device_eval_batch_size", "7", "--no_cpu_bf16"]
    out = tmp_path / "run_ner"
    try:
        run_ner.main([str(a) for a in ["--model_name_or_path", model, "--test_file", SAMPLE / "test.conll",
                                       "--do_predict", "--max_seq_length", "48", "--output_dir", out, *fast]])
    except SystemExit as stop:
        assert stop.code in (0, None)
    expected = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]

    path, errors = tmp_path / "predict.conll", tmp_path / "errors.jsonl"
    assert predict(["--model", model, "--input", SAMPLE / "test.conll", "--output", path, "--format", "conll",
                    "--max_seq_length", "48", "--batch_size", "5", "--dtype", "float32", "--quiet",
                    "--errors", errors]) == 0
    sentences, docstarts = conll_sentences(path)
    assert [words for words, _ in sentences] == [r["tokens"] for r in expected]
    assert [tags for _, tags in sentences] == [r["predicted_tags"] for r in expected]
    assert docstarts == len({r["document_id"] for r in expected})
    # gold tags are kept beside the predictions
    gold = [line.split(" ")[1] for line in path.read_text().splitlines() if line and not line.startswith("-DOCSTART-")]
    assert gold == [t for r in expected for t in r["gold_tags"]]
    # the same error list, with character offsets into each document's text here
    def key(record):
        spans = [None if record[side] is None else (record[side]["label"], record[side]["start"], record[side]["end"])
                 for side in ("gold", "predicted")]
        return record["class"], record["document_id"], record["sentence_index"], *spans
    by_script, by_predict = jsonl(out / "errors.jsonl"), jsonl(errors)
    assert by_script and [key(r) for r in by_predict] == [key(r) for r in by_script]
    assert all("char_start" in (r["gold"] or r["predicted"]) for r in by_predict)


def test_entities_agree_with_transformers_pipeline(tmp_path, model):
    """On sentences whose words are each one sub-word, entities equal pipeline(aggregation_strategy="first")."""
    from transformers import AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    words = sorted({w for s in read_sentences(SAMPLE / "train.conll") for w in s.tokens
                    if w.isalpha() and len(tokenizer.tokenize(w)) == 1 and len(w) > 1})
    rng = random.Random(11)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) for _ in range(12)]
    texts.append("  ".join(texts[0].split()))  # several spaces between words change nothing but offsets
    tagger = NerTagger.load(str(model), device="cpu")
    ours = tagger.predict_texts(texts)
    ner = pipeline("token-classification", model=str(model), tokenizer=tokenizer, aggregation_strategy="first", device="cpu")
    compared = 0
    for text, record in zip(texts, ours):
        assert len(tokenize_text(text)) == 1
        theirs = [(e["start"], e["end"], e["entity_group"]) for e in ner(text)]
        assert [(e["start"], e["end"], e["label"]) for e in record["entities"]] == theirs
        compared += len(theirs)
    assert compared > 10


def test_stdin_json_lines_keep_ids_and_bad_json_is_one_line(tmp_path, model, monkeypatch, capsys):
    lines = [json.dumps({"id": "a", "text": "Anna Velk moved to Oakhallow."}, ensure_ascii=False), "",
             json.dumps({"id": 7, "text": "Straße 😀 in Köln", "other": 1}, ensure_ascii=False)]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))))
    path = tmp_path / "out.jsonl"
    assert predict(["--model", model, "--input", "-", "--output", path, "--quiet"]) == 0
    records = jsonl(path)
    assert [r["id"] for r in records] == ["a", 7]
    check_record(records[1], "Straße 😀 in Köln")

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "fine"}\n{"text": broken\n')))
    capsys.readouterr()
    bad = tmp_path / "bad.jsonl"
    assert predict(["--model", model, "--input", "-", "--input_format", "jsonl", "--output", bad, "--quiet"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "<stdin>:2" in error[0] and "JSON" in error[0]
    assert not bad.exists()


def test_stdout_output_and_words_only_conll_with_documents(tmp_path, model, monkeypatch, capsys):
    source = tmp_path / "words.conll"
    source.write_text("-DOCSTART-\n\nAnna\nVelk\nleft\n\nShe\nsmiled\n\n-DOCSTART-\n\nOakhallow\n", encoding="utf-8")
    capsys.readouterr()
    assert predict(["--model", model, "--input", source, "--output", "-", "--format", "conll", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("-DOCSTART- O") == 2
    assert [line.split(" ")[0] for line in printed.splitlines() if line and not line.startswith("-DOC")] == \
        ["Anna", "Velk", "left", "She", "smiled", "Oakhallow"]
    assert predict(["--model", model, "--input", source, "--output", "-", "--quiet"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["doc-0001", "doc-0002"]
    assert records[0]["text"] == "Anna Velk left\nShe smiled" and "gold_tags" not in records[0]


@pytest.mark.parametrize("name", ["news.testb", "train.txt", "-"])
def test_tagged_columns_are_read_as_conll_whatever_the_name(tmp_path, model, monkeypatch, capsys, name):
    # CoNLL-2003 ships eng.train/eng.testa/eng.testb, many corpora train.txt: read as text, every line
    # ("EU NNP B-NP B-ORG") would become a document of its own
    columns = (SAMPLE / "test.conll").read_text(encoding="utf-8")
    gold = [s.tokens for s in read_sentences(SAMPLE / "test.conll")]
    if name == "-":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(columns.encode("utf-8"))))
        source = "-"
    else:
        source = tmp_path / name
        source.write_text(columns, encoding="utf-8")
    out = tmp_path / "out.conll"
    assert predict(["--model", model, "--input", source, "--output", out, "--format", "conll", "--quiet"]) == 0
    sentences, _ = conll_sentences(out)
    assert [words for words, _ in sentences] == gold
    # plain text with the same name stays text: one document per line
    if name != "-":
        source.write_text("Anna Velk left Oakhallow.\nShe smiled O\n", encoding="utf-8")
        assert predict(["--model", model, "--input", source, "--output", tmp_path / "out.jsonl", "--overwrite",
                        "--quiet"]) == 0
        assert [r["text"] for r in jsonl(tmp_path / "out.jsonl")] == ["Anna Velk left Oakhallow.", "She smiled O"]


def test_schemes_constrained_decoding_and_dtype(tmp_path, model):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(UNICODE_LINES), encoding="utf-8")
    entities = {}
    for name, extra in {"iob2": [], "bioes": ["--scheme", "bioes"], "iob1": ["--scheme", "iob1"]}.items():
        path = tmp_path / f"{name}.jsonl"
        assert predict(["--model", model, "--input", source, "--output", path, "--quiet", *extra]) == 0
        records = jsonl(path)
        assert all(first_violation(r["tags"], name) is None for r in records)
        entities[name] = [r["entities"] for r in records]
    assert entities["iob2"] == entities["bioes"] == entities["iob1"]

    path = tmp_path / "viterbi.jsonl"
    assert predict(["--model", model, "--input", source, "--output", path, "--constrained_decoding",
                    "--dtype", "bfloat16", "--device", "cpu", "--quiet"]) == 0
    for record, line in zip(jsonl(path), UNICODE_LINES):
        check_record(record, line)
        assert first_violation(record["tags"], "iob2") is None


@pytest.mark.parametrize("case", ["missing_model", "empty_input", "existing_output", "float16_on_cpu", "not_ner"])
def test_user_errors_are_one_line_and_leave_no_output(tmp_path, model, capsys, case):
    source = tmp_path / "in.txt"
    source.write_text("Anna Velk left.\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    argv = ["--model", model, "--input", source, "--output", output, "--quiet"]
    expected = {"missing_model": "model folder not found", "empty_input": "empty input",
                "existing_output": "--overwrite", "float16_on_cpu": "float16", "not_ner": "not NER tags"}[case]
    if case == "missing_model":
        argv[1] = tmp_path / "no-such-model"
    elif case == "empty_input":
        source.write_text("\n  \n\t\n", encoding="utf-8")
    elif case == "existing_output":
        output.write_text("keep me")
    elif case == "float16_on_cpu":
        argv += ["--device", "cpu", "--dtype", "float16"]
    elif case == "not_ner":
        words = ["Anna", "Velk", "left"]
        argv[1] = make_model_dir(tmp_path / "plain", words, labels=["LABEL_0", "LABEL_1"])
    capsys.readouterr()
    assert predict(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and expected in error[0] and "Traceback" not in error[0]
    if case == "existing_output":
        assert output.read_text() == "keep me"
        assert predict(argv + ["--overwrite"]) == 0 and jsonl(output)[0]["text"] == "Anna Velk left."
    else:
        assert not output.exists()


def test_python_api_and_print_entities(tmp_path, model, capsys):
    tagger = NerTagger.load(str(model), batch_size=2, chunk_size=2)  # several chunks and batches
    documents = [Document.from_text(line) for line in UNICODE_LINES * 3]
    predictions = list(tagger.predict(documents))
    assert [p.document.text for p in predictions] == UNICODE_LINES * 3
    first = [p.to_record() for p in predictions[: len(UNICODE_LINES)]]
    assert first == [p.to_record() for p in predictions[len(UNICODE_LINES) : 2 * len(UNICODE_LINES)]]
    assert tagger.predict_texts(UNICODE_LINES) == first

    example = Path(__file__).resolve().parent.parent / "examples" / "raw_sentences.txt"
    capsys.readouterr()
    assert predict(["--model", model, "--input", example, "--output", tmp_path / "raw.jsonl", "--print_entities",
                    "--quiet"]) == 0
    printed = capsys.readouterr().out
    lines = example.read_text(encoding="utf-8").splitlines()
    assert all(line[:60] in printed for line in lines)
    assert len(jsonl(tmp_path / "raw.jsonl")) == len(lines)


def test_a_closed_stdout_ends_quietly(tmp_path, model):
    """``--output - | head``: the reader goes away early; no traceback, status 141 as for ``cat``."""
    import subprocess

    source = tmp_path / "in.txt"
    source.write_text("Anna Velk visited Oakhallow in June.\n" * 3000, encoding="utf-8")  # far beyond a pipe's buffer
    command = (f"set -o pipefail; {sys.executable} predict_ner.py --model {model} --input {source} --output - "
               "--quiet | head -c 100 > /dev/null")
    result = subprocess.run(["bash", "-c", command], cwd=Path(__file__).resolve().parent.parent,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_pre_annotations_for_each_tool_read_back_and_sorted_by_uncertainty(tmp_path, model):
    """predict_ner.py --format labelstudio|doccano|prodigy: what each tool imports, read back by our readers to the
    same entities as the jsonl output; --sort uncertainty puts the lowest task score first."""
    from nerkit.formats import FormatOptions

    source = tmp_path / "input.txt"
    source.write_text("\n".join(line for line in UNICODE_LINES if line.strip()) + "\nAnna Velk left Oakhallow.\n", encoding="utf-8")
    assert predict(["--model", model, "--input", source, "--output", tmp_path / "out.jsonl", "--quiet"]) == 0
    records = jsonl(tmp_path / "out.jsonl")
    want = sorted((r["text"], e["start"], e["end"], e["label"]) for r in records for e in r["entities"])
    assert want  # the random model predicts entities

    def found(sentences):
        return sorted((s.text, s.offsets[first][0], s.offsets[end - 1][1], label)
                      for s in sentences for label, first, end in get_spans(s.ner_tags))

    for fmt, name in (("labelstudio", "pre.json"), ("doccano", "pre.jsonl"), ("prodigy", "pre.prodigy.jsonl")):
        out = tmp_path / name
        argv = ["--model", model, "--input", source, "--output", out, "--format", fmt, "--sort", "uncertainty", "--quiet"]
        assert predict(argv + ["--model_version", "tiny-1"]) == 0
        options = FormatOptions(annotation="predictions") if fmt == "labelstudio" else FormatOptions()
        assert found(read_sentences(out, fmt, options)) == want, fmt
    tasks = json.loads((tmp_path / "pre.json").read_text(encoding="utf-8"))
    scores = [task["predictions"][0]["score"] for task in tasks]
    assert scores == sorted(scores) and len(set(scores)) > 1 and len(tasks) == len(records)
    assert all(t["predictions"][0]["model_version"] == "tiny-1" for t in tasks)
    regions = [r for t in tasks for r in t["predictions"][0]["result"]]
    assert all(0 <= r["score"] <= 1 and r["type"] == "labels" for r in regions)
    prodigy = jsonl(tmp_path / "pre.prodigy.jsonl")
    assert [r["meta"]["score"] for r in prodigy] == scores and "answer" not in prodigy[0]


def test_gold_from_another_file_follows_the_inputs_sentences(tmp_path):
    """--gold: the gold file's words in one sentence, the input's split in two: the tags follow the input's
    sentences; a gold file in IOB1 gives its scheme to the output, as word-level input with tags does."""
    from nerkit.inference.reading import attach_gold, read_documents
    from nerkit.schemes import IOB1

    (tmp_path / "in.txt").write_text("Ada Lovelace wrote. Bob ran.\n", encoding="utf-8")
    (tmp_path / "gold.conll").write_text("Ada I-PER\nLovelace I-PER\nwrote O\n. O\nBob I-PER\nran O\n. O\n", encoding="utf-8")
    loaded = read_documents(tmp_path / "in.txt")
    attach_gold(loaded, tmp_path / "gold.conll", "in.txt")
    document, = loaded.documents
    assert [[w for w, _, _ in s] for s in document.sentences] == [["Ada", "Lovelace", "wrote", "."], ["Bob", "ran", "."]]
    assert document.gold == [["I-PER", "I-PER", "O", "O"], ["I-PER", "O", "O"]] and loaded.gold_scheme is IOB1

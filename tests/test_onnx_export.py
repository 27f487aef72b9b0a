"""export_onnx.py and the ONNX backend (nerkit.export, nerkit.inference.onnx_backend) on tiny random models:
the graph gives PyTorch's logits, with and without the case feature, packed and unpacked; predict_ner.py and
NerTagger give the same entities on either backend; INT8 keeps the output format; every export is scored."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the ONNX tests need requirements-onnx.txt (the README's test command installs it)")

import export_onnx  # noqa: E402
import predict_ner  # noqa: E402
from nerkit.export import graph_input_names, probe_batch  # noqa: E402
from nerkit.export_scoring import verdict  # noqa: E402
from nerkit.formats import read_sentences  # noqa: E402
from nerkit.inference import Document, NerTagger  # noqa: E402
from nerkit.schemes import get_spans  # noqa: E402
from tiny_models import make_model_dir  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
LAYOUTS = {"case+packed": (True, 128), "case": (True, 0), "packed": (False, 128), "plain": (False, 0)}


def run(main, argv):
    try:
        return main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code


def trained_dir(folder: Path, case_feature: bool, pack_length: int) -> Path:
    """A tiny token classifier whose config records the layout it was 'trained' with, as run_ner.py writes it."""
    words = [word for sentence in read_sentences(SAMPLE / "train.conll") for word in sentence.tokens]
    make_model_dir(folder, words, labels=LABELS, seed=3)
    config = json.loads((folder / "config.json").read_text())
    config.update(case_feature=case_feature, pack_length=pack_length, pack_attention="sentence", context_size=0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each layout's model and its export (INT8 too for the default layout, case feature and packing)."""
    made = {}
    for name, (case_feature, pack_length) in LAYOUTS.items():
        base = tmp_path_factory.mktemp(name.replace("+", "-"))
        model = trained_dir(base / "model", case_feature, pack_length)
        quantize = ["--quantize", "int8"] if name == "case+packed" else []
        assert run(export_onnx.main, ["--model", model, "--output", base / "onnx", "--quiet", *quantize]) == 0
        made[name] = (model, base / "onnx")
    return made


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_graph_gives_pytorchs_logits(exports, name):
    model, exported = exports[name]
    torch_tagger = NerTagger.load(str(model), device="cpu", dtype="float32")
    onnx_tagger = NerTagger.load(str(exported), backend="onnx")
    case_feature, pack_length = LAYOUTS[name]
    assert onnx_tagger.layout == torch_tagger.layout
    names = graph_input_names(torch_tagger)
    assert onnx_tagger.model.input_names == names
    assert ("token_type_ids" in names) is case_feature and ("position_ids" in names) is bool(pack_length)
    # Another batch size and length than the traced ones: the axes are dynamic.
    batch = probe_batch(torch_tagger, names, rows=5, length=37, seed=11)
    real = batch["attention_mask"].astype(bool)
    expected, got = torch_tagger.forward(batch), onnx_tagger.forward(batch)
    assert got.shape == expected.shape
    assert np.abs(got - expected)[real].max() < 1e-4
    if case_feature:  # the graph reads the case feature, not a constant
        flipped = dict(batch, token_type_ids=1 - batch["token_type_ids"])
        assert np.abs(onnx_tagger.forward(flipped) - got)[real].max() > 1e-3
    if pack_length:  # the graph builds the block mask: the second sentence of an input reads as if alone
        half = 37 // 2
        alone = {key: value[:, half:] for key, value in batch.items()}
        alone["position_ids"] = alone["position_ids"] - alone["position_ids"][:, :1]
        alone["attention_mask"] = np.ones_like(alone["input_ids"])
        assert np.abs(onnx_tagger.forward(alone)[:4] - got[:4, half:]).max() < 1e-4


@pytest.mark.parametrize("name", ["case+packed", "plain"])
def test_both_backends_give_the_same_entities_on_the_sample_data(exports, name):
    model, exported = exports[name]
    sentences = read_sentences(SAMPLE / "test.conll")
    documents = [Document.from_words([sentence.tokens]) for sentence in sentences]
    torch_predictions = list(NerTagger.load(str(model), device="cpu", dtype="float32").predict(documents))
    onnx_predictions = list(NerTagger.load(str(exported), backend="onnx").predict(documents))
    assert [p.tags for p in onnx_predictions] == [p.tags for p in torch_predictions]
    assert [p.entities for p in onnx_predictions] != [[] for _ in documents]  # something to compare
    for ours, theirs in zip(onnx_predictions, torch_predictions):
        for a, b in zip(ours.confidence, theirs.confidence):
            assert np.allclose(a, b, atol=1e-4)


def test_predict_ner_int8_keeps_the_output_format(exports, tmp_path):
    model, exported = exports["case+packed"]
    outputs = {}
    for backend, folder in (("torch", model), ("onnx", exported), ("onnx-int8", exported)):
        outputs[backend] = tmp_path / f"{backend}.jsonl"
        assert run(predict_ner.main, ["--model", folder, "--backend", backend, "--input", SAMPLE / "test.conll",
                                      "--output", outputs[backend], "--quiet"]) == 0
    records = {backend: [json.loads(line) for line in path.read_text().splitlines()] for backend, path in outputs.items()}
    assert records["onnx"] == records["torch"]
    for ours, theirs in zip(records["onnx-int8"], records["torch"]):
        assert list(ours) == list(theirs)
        assert {key: ours[key] for key in ("text", "tokens", "offsets", "gold_tags")} == {
            key: theirs[key] for key in ("text", "tokens", "offsets", "gold_tags")}
        assert [(e["label"], e["start"], e["end"]) for e in ours["entities"]] == [
            (label, ours["offsets"][first][0], ours["offsets"][end - 1][1]) for label, first, end in get_spans(ours["tags"])]
        assert all(0.0 <= entity["score"] <= 1.0 for entity in ours["entities"])


def test_every_export_is_scored(exports, tmp_path):
    model, _ = exports["case+packed"]
    output = tmp_path / "scored"
    status = run(export_onnx.main, ["--model", model, "--output", output, "--quantize", "int8", "--quiet",
                                    "--validation_file", SAMPLE / "dev.conll", "--max_f1_drop", "100"])
    assert status == 0
    report = json.loads((output / "export_report.json").read_text())
    assert list(report["backends"]) == ["torch", "onnx", "onnx-int8"]
    torch_result, fp32, int8 = (report["backends"][name] for name in ("torch", "onnx", "onnx-int8"))
    assert fp32["f1"] == torch_result["f1"] and fp32["same_entities_as_pytorch"] == 1.0
    assert set(fp32["per_type"]) == set(torch_result["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    assert int8["model_bytes"] < fp32["model_bytes"]
    for result in report["backends"].values():
        assert result["words_per_second"] > 0 and result["load_to_first_prediction_seconds"] > 0
    assert report["sentences"] == len(read_sentences(SAMPLE / "dev.conll"))


def test_static_quantisation_benchmark_calibrates_quantises_and_scores_every_row(exports, tmp_path):
    import onnx

    sys.path.insert(0, str(SAMPLE.parent.parent / "benchmarks"))
    import bench_quantization

    model, _ = exports["case+packed"]
    output = tmp_path / "quantization"
    bench_quantization.main(["--model", str(model), "--calibration_file", str(SAMPLE / "dev.conll"),
                             "--calibration_sentences", "40", "--batch_size", "4", "--validation_file", str(SAMPLE / "test.conll"),
                             "--output_dir", str(output), "--methods", "minmax,percentile"])
    report = json.loads((output / "bench.json").read_text())
    assert set(report["rows"]) == {"fp32", "dynamic", "static-minmax", "static-percentile"}
    assert report["calibration_batches"] >= 2  # more than one batch: the histogram method had lengths to pad
    for row in report["rows"].values():
        assert 0.0 <= row["f1"] <= 1.0 and row["words_per_cpu_second"] > 0
        assert row["profile"]["cpu_seconds_per_pass"] > 0 and abs(sum(row["profile"]["operator_percent"].values()) - 100) < 1
    assert "DynamicQuantizeMatMul" in report["rows"]["dynamic"]["profile"]["operator_percent"]  # ORT's fusion at load
    for method in ("minmax", "percentile"):
        graph = onnx.load(str(output / f"static-{method}" / "model_quantized.onnx")).graph
        operators = [node.op_type for node in graph.node]
        # Activations quantised with fixed scales (no run-time DynamicQuantizeLinear), the weights stored as int8.
        assert "QuantizeLinear" in operators and "DynamicQuantizeLinear" not in operators
        assert any(item.data_type == onnx.TensorProto.INT8 for item in graph.initializer)
    with pytest.raises(SystemExit, match="exists"):
        bench_quantization.main(["--model", str(model), "--calibration_file", str(SAMPLE / "dev.conll"),
                                 "--validation_file", str(SAMPLE / "test.conll"), "--output_dir", str(output)])


def test_verdict_fails_an_unfaithful_or_lossy_export():
    def report(fp32_drift, int8_drift):
        return {"backends": {"torch": {"f1_minus_pytorch": 0.0}, "onnx": {"f1_minus_pytorch": fp32_drift},
                             "onnx-int8": {"f1_minus_pytorch": int8_drift}}}

    assert verdict(report(0.0, -0.4), max_f1_drop=0.5) is None
    assert "ONNX fp32 F1 differs" in verdict(report(-0.06, 0.0), max_f1_drop=0.5)
    assert "INT8 loses 0.60 F1 points" in verdict(report(0.0, -0.6), max_f1_drop=0.5)
    assert verdict(report(0.0, -0.6), max_f1_drop=1.0) is None


@pytest.mark.parametrize("name", ["case", "plain"])
def test_an_export_loads_with_transformers_alone_and_keeps_the_case_feature(exports, name):
    # ONNX Runtime users tokenise with AutoTokenizer: for a case-feature model it must set token_type_ids as we do
    from transformers import AutoTokenizer

    _, exported = exports[name]
    assert (exported / "case_feature_tokenizer.py").is_file() is LAYOUTS[name][0]
    if not LAYOUTS[name][0]:
        assert "custom_pipelines" not in json.loads((exported / "config.json").read_text())
        return
    tokenizer = AutoTokenizer.from_pretrained(str(exported), trust_remote_code=True)
    encoded = tokenizer(["Ada", "met", "IBM", "staff"], is_split_into_words=True)
    word_types = {word: kind for word, kind in zip(encoded.word_ids(), encoded["token_type_ids"]) if word is not None}
    assert word_types == {0: 1, 1: 0, 2: 1, 3: 0}

"""benchmarks/bench_ner.py on a small slice: both configurations run and the figures come out (no timing asserted)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_ner  # noqa: E402


def test_benchmark_runs_both_configurations_and_writes_json_and_markdown(tmp_path, tiny_model):
    out = tmp_path / "bench"
    bench_ner.main(["--model", str(tiny_model), "--data_dir", str(ROOT / "data" / "sample"), "--output_dir", str(out),
                    "--epochs", "1", "--max_train_samples", "40", "--max_eval_samples", "20",
                    "--max_predict_samples", "20", "--batch_size", "8", "--no_bf16"])
    report = json.loads((out / "bench.json").read_text())
    results = report["results"]
    assert set(results) == {"upstream", "ours"}
    for name in ("upstream", "ours"):
        figures = results[name]
        for key in ("data_seconds", "train_real_tokens_per_second", "train_padded_per_real", "eval_words_per_second",
                    "predict_words_per_second", "peak_rss_gb", "wall_seconds", "eval_f1", "predict_f1"):
            assert figures[key] is not None, (name, key)
        assert "--max_tokens_per_batch 0" in report["commands"]["upstream"]
    # The same sentences, one per input in both, batched by length in ours: the same real sub-words, less padding.
    assert 0 < results["ours"]["train_real_tokens"] == results["upstream"]["train_real_tokens"]
    assert results["ours"]["train_padded_per_real"] < results["upstream"]["train_padded_per_real"]
    assert "--pack_length 0" in report["commands"]["upstream"] and "--pack_length" not in report["commands"]["ours"]
    assert results["ours"]["argmax_predict_f1"] is not None
    table = (out / "bench.md").read_text()
    assert "training real sub-words / s" in table and "ours / upstream" in table


def test_benchmark_refuses_an_existing_output_folder(tmp_path, tiny_model):
    with pytest.raises(SystemExit) as stop:
        bench_ner.main(["--model", str(tiny_model), "--data_dir", str(ROOT / "data" / "sample"),
                        "--output_dir", str(tmp_path)])
    assert "already exists" in str(stop.value)


@pytest.mark.parametrize("configs", [["upstream", "ours"], ["ours"]])
def test_markdown_table_has_every_figure_with_or_without_the_upstream_run(configs):
    # `--configs ours` (an ablation of our defaults alone) still gets its figures, only without ratios.
    results = {name: {"train_seconds": 100.0 if name == "upstream" else 40.0, "predict_f1": 88.0} for name in configs}
    lines = bench_ner.markdown(results).splitlines()
    columns = 1 + len(configs) + (len(configs) - 1)
    assert all(line.count("|") == columns + 1 for line in lines), lines
    training = next(line for line in lines if line.startswith("| training, s "))
    assert training.split("|")[2].strip() == ("100" if "upstream" in configs else "40")
    if "upstream" in configs:
        assert training.split("|")[-2].strip() == "0.40x"


def test_run_args_reach_every_run_so_pos_tagging_can_be_benchmarked(tmp_path):
    from test_plain_labels import pos_sentences, write_pos_conll

    from tiny_models import make_model_dir

    data = tmp_path / "pos"
    data.mkdir()
    write_pos_conll(data / "train.conll", pos_sentences(24, 1))
    write_pos_conll(data / "dev.conll", pos_sentences(8, 2))
    model = make_model_dir(tmp_path / "encoder", [w for words, _ in pos_sentences(100, 0) for w in words])
    out = tmp_path / "bench"
    bench_ner.main(["--model", str(model), "--data_dir", str(data), "--output_dir", str(out), "--epochs", "1",
                    "--batch_size", "8", "--no_bf16", "--configs", "ours", "--run_args=--task_name pos --tag_column 1"])
    report = json.loads((out / "bench.json").read_text())
    assert all("--task_name pos --tag_column 1" in command for command in report["commands"].values())
    labels = set(json.loads((out / "ours" / "config.json").read_text())["id2label"].values())
    assert "NNP" in labels and not any(label.startswith(("B-", "I-")) for label in labels)
    accuracy = json.loads((out / "ours" / "eval_results.json").read_text())["eval_accuracy"]
    assert report["results"]["ours"]["eval_f1"] == pytest.approx(100 * accuracy, abs=0.006)  # F1 is the accuracy

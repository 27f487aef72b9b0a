"""benchmarks/bench_peers.py with our rows only (the peers' environments are gigabytes; `--peers none` is what CI
runs): the corpus is converted for the peers, the figures come out, and a peer's predictions are scored by our
scorer against the converted files, word for word."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_peers  # noqa: E402


def test_our_rows_run_on_a_slice_and_the_corpus_is_converted_for_the_peers(tmp_path, tiny_model):
    out = tmp_path / "peers"
    bench_peers.main(["--model", str(tiny_model), "--data_dir", str(ROOT / "data" / "sample"), "--output_dir", str(out),
                      "--epochs", "1", "--max_train_samples", "40", "--batch_size", "8", "--no_bf16", "--peers", "none"])
    report = json.loads((out / "bench.json").read_text())
    assert set(report["results"]) == {"upstream", "ours"}
    for figures in report["results"].values():
        for _, key, _, _ in bench_peers.FIGURES:
            assert figures[key] is not None, key
    # The peers' copy: IOB2 CoNLL cut to the same 40 sentences run_ner.py trains on, and the same as JSON lines.
    from nerkit.formats import read_sentences

    train = read_sentences(out / "data" / "conll" / "train.conll", "conll")
    original = read_sentences(ROOT / "data" / "sample" / "train.conll")
    assert [s.tokens for s in train] == [s.tokens for s in original[:40]]
    assert len((out / "data" / "json" / "train.jsonl").read_text().splitlines()) == 40
    assert "test F1, the tool's own" in (out / "bench.md").read_text()


def test_a_peers_predictions_that_are_not_the_gold_files_words_are_refused(tmp_path):
    gold = tmp_path / "dev.conll"
    gold.write_text("Ada B-PER\nsang O\n\nin O\nRome B-LOC\n")
    predictions = tmp_path / "dev.predictions.jsonl"
    predictions.write_text(json.dumps({"words": ["Ada", "sang"], "tags": ["B-PER", "O"]}) + "\n"
                           + json.dumps({"words": ["in", "Paris"], "tags": ["O", "B-LOC"]}) + "\n")
    with pytest.raises(SystemExit, match="sentence 2 is not"):
        bench_peers.score_predictions(str(gold), str(predictions))


def test_an_unknown_peer_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(SystemExit, match="unknown peer flairr"):
        bench_peers.main(["--data_dir", str(ROOT / "data" / "sample"), "--output_dir", str(tmp_path / "x"),
                          "--peers", "flairr"])
    assert not (tmp_path / "x").exists()


def test_a_recommended_row_trains_with_the_tools_own_settings_and_predicts_in_the_shared_batches():
    args = bench_peers.argparse.Namespace(epochs=2.0, batch_size=32, learning_rate=1e-4, seed=7)
    folders = {"conll": "/c", "json": "/j"}

    def option(command, name):
        return command[command.index(name) + 1]

    flair = bench_peers.peer_command(bench_peers.PEERS["flair-recommended"], "py", args, "m", folders, "/o")
    assert [option(flair, o) for o in ("--epochs", "--batch_size", "--learning_rate", "--eval_batch_size", "--seed")] \
        == ["10", "4", "5e-05", "32", "7"]
    spanmarker = bench_peers.peer_command(bench_peers.PEERS["spanmarker-recommended"], "py", args, "m", folders, "/o")
    assert [option(spanmarker, o) for o in ("--epochs", "--learning_rate", "--warmup_ratio", "--weight_decay",
                                           "--json_dir")] == ["3", "5e-05", "0.1", "0.01", "/j"]
    shared = bench_peers.peer_command(bench_peers.PEERS["flair"], "py", args, "m", folders, "/o")
    assert [option(shared, o) for o in ("--epochs", "--batch_size", "--learning_rate")] == ["2", "32", "0.0001"]


def test_the_recommended_rows_run_only_when_named(capsys):
    with pytest.raises(SystemExit):
        bench_peers.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    default = re.search(r"--peers PEERS .*?default: ([^)]*)\)", help_text).group(1).replace(" ", "")
    assert default.split(",") == ["flair", "flair-crf", "spanmarker", "spacy"]


def test_a_peer_runner_predicts_in_its_training_batches_unless_told(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "peers"))
    import peer_io

    common = ["runner", "--data_dir", "d", "--model", "m", "--output_dir", str(tmp_path), "--batch_size", "4"]
    monkeypatch.setattr(sys, "argv", common)
    assert peer_io.parse_args("x").eval_batch_size == 4
    monkeypatch.setattr(sys, "argv", common + ["--eval_batch_size", "32"])
    assert peer_io.parse_args("x").eval_batch_size == 32


def test_a_rows_epochs_as_its_runner_reports_them_set_its_training_speed(tmp_path, tiny_model, monkeypatch):
    # spaCy's recipe stops on its dev F1: its runner says how many epochs that was, and the table must use them.
    monkeypatch.setattr(bench_peers, "environment", lambda peer, venv_dir: "python")
    reported = {"epochs": 7.5, "batch_size": "2000 padded words", "learning_rate": 5e-5, "train_seconds": 10.0,
                "command": "python spacy_peer.py --recommended"}
    monkeypatch.setattr(bench_peers, "run_peer", lambda name, *rest: dict(reported))
    out = tmp_path / "peers"
    bench_peers.main(["--model", str(tiny_model), "--data_dir", str(ROOT / "data" / "sample"), "--output_dir", str(out),
                      "--max_train_samples", "40", "--ours", "none", "--peers", "spacy-recommended,flair-recommended"])
    results = json.loads((out / "bench.json").read_text())["results"]
    an_epoch = bench_peers.count_subwords(str(tiny_model), str(out / "data" / "conll" / "train.conll"))
    assert results["spacy-recommended"]["train_subwords_per_second"] == round(7.5 * an_epoch / 10.0, 1)
    assert "| batch size (training) | 2000 padded words |" in (out / "bench.md").read_text()

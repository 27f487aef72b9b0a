"""Batches by sub-word budget and length-sorted evaluation: every input once, little padding, results in order."""

import json
from pathlib import Path

import numpy as np
import pytest

import run_ner
import run_ner_no_trainer
from nerkit.batching import (
    LengthSortedBatchSampler,
    TokenBudgetBatchSampler,
    auto_budget,
    cut_by_budget,
    restore_order,
)
from script_runner import call

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def sentence_lengths(count=3000, seed=0):
    """Sub-words per input with a long tail, like CoNLL-2003's (most under 30, a few over 100)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=2.8, sigma=0.6, size=count).astype(int) + 2, 3, 180).tolist()


def padded(batches, lengths):
    return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)


def test_cut_by_budget_keeps_every_index_and_the_budget():
    lengths = sentence_lengths(500)
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches = cut_by_budget(order, lengths, max_tokens=256)
    assert [i for batch in batches for i in batch] == order
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 256 or len(batch) == 1


def test_an_input_longer_than_the_budget_gets_a_batch_of_its_own():
    assert cut_by_budget([0, 1, 2], [5, 50, 5], max_tokens=20) == [[0], [1], [2]]


def test_training_batches_cover_every_input_once_per_epoch_with_little_padding():
    """One sentence per input (no packing), CoNLL-like lengths: random batches of 32 hold about 2.6 padded
    positions per real one; pools of 256 keep it under 1.15 (1.13 here; pools of 1,024 gave 1.04, but batches
    so uniform in length that F1 dropped: see nerkit.batching)."""
    lengths = sentence_lengths()
    budget = auto_budget(lengths, 32)
    sampler = TokenBudgetBatchSampler(lengths, budget, seed=3)
    real = sum(lengths)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
        assert len(batches) == len(sampler)
        assert padded(batches, lengths) / real <= 1.15
        assert padded(batches, lengths) == sampler.padded_tokens()
    # Random batches of 32 on the same lengths pad far more: the point of the sampler.
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(lengths)).tolist()
    random_batches = [shuffled[i:i + 32] for i in range(0, len(shuffled), 32)]
    assert padded(random_batches, lengths) / real > 1.8
    # About as many batches as random batches of 32, so learning rates tuned for those carry over; a few more,
    # since padding counts against the budget (116 against 94 here).
    assert 1.0 <= len(sampler) / len(random_batches) < 1.3


def test_training_batches_are_shuffled_across_epochs_and_reproducible():
    lengths = sentence_lengths()
    sampler = TokenBudgetBatchSampler(lengths, 640, seed=3)
    sampler.set_epoch(0)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert first != second
    again = TokenBudgetBatchSampler(lengths, 640, seed=3)
    again.set_epoch(1)
    assert list(again) == second
    assert list(TokenBudgetBatchSampler(lengths, 640, seed=4)) != first
    # Not one long sweep from short to long inputs (a correlation near 1): batch lengths in training order are
    # mixed (about 0.08 is one standard deviation of a random order's correlation with this many batches).
    longest = [max(lengths[i] for i in batch) for batch in first]
    assert abs(np.corrcoef(np.arange(len(longest)), longest)[0, 1]) < 0.4


def test_evaluation_batches_are_longest_first_and_restore_input_order():
    lengths = sentence_lengths(400)
    sampler = LengthSortedBatchSampler(lengths, max_tokens=1000)
    flat = [i for batch in sampler for i in batch]
    assert flat == sampler.order
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    rows = [f"row {i}" for i in flat]
    assert restore_order(rows, sampler.order) == [f"row {i}" for i in range(len(lengths))]
    array = np.array(flat)[:, None] * np.ones((1, 3))
    assert (restore_order(array, sampler.order)[:, 0] == np.arange(len(lengths))).all()


def test_budgets_below_zero_are_refused(tmp_path, tiny_model):
    with pytest.raises(SystemExit) as stop:
        run_ner.main(["--model_name_or_path", str(tiny_model), "--train_file", str(SAMPLE / "train.conll"),
                      "--output_dir", str(tmp_path / "o"), "--do_train", "--max_tokens_per_batch", "-5"])
    assert stop.value.code != 0


COMMON = ["--train_file", SAMPLE / "train.conll", "--validation_file", SAMPLE / "dev.conll",
          "--test_file", SAMPLE / "test.conll", "--max_train_samples", 60, "--max_eval_samples", 40,
          "--max_predict_samples", 40, "--num_train_epochs", 1, "--max_seq_length", 48, "--seed", 1,
          "--per_device_train_batch_size", 8, "--per_device_eval_batch_size", 8]
TRAINER_ONLY = ["--report_to", "none", "--save_strategy", "no", "--disable_tqdm", "true"]


def run_script(script, argv):
    """Run run_ner.py ("trainer") or run_ner_no_trainer.py in-process with the common arguments; exit status."""
    main, extra = (run_ner.main, TRAINER_ONLY) if script == "trainer" else (run_ner_no_trainer.main, [])
    return call(main, [*COMMON, *extra, *argv])


@pytest.mark.parametrize("script", ["trainer", "no_trainer"])
def test_sorted_evaluation_gives_the_same_predictions_as_evaluation_in_input_order(tmp_path, tiny_model, script):
    outputs = {}
    for budget in (0, 300):
        out = tmp_path / f"eval-{budget}"
        assert run_script(script, ["--model_name_or_path", tiny_model, "--output_dir", out,
                                   "--eval_max_tokens_per_batch", budget, "--do_train", "--do_eval", "--do_predict"]) == 0
        outputs[budget] = out
    # Same model (same seed, same training batches), so the same words get the same tags, in input order.
    assert (outputs[0] / "predictions.conll").read_text() == (outputs[300] / "predictions.conll").read_text()
    for name in ("eval_results.json", "predict_results.json"):
        sorted_results = json.loads((outputs[300] / name).read_text())
        plain_results = json.loads((outputs[0] / name).read_text())
        for key in ("eval_f1", "predict_f1", "eval_accuracy", "predict_accuracy"):
            if key in plain_results:
                assert sorted_results[key] == pytest.approx(plain_results[key])


@pytest.mark.parametrize("script", ["trainer", "no_trainer"])
def test_training_counts_every_real_sub_word_and_reports_padding(tmp_path, tiny_model, script):
    results = {}
    for budget in (0, 200):
        out = tmp_path / f"train-{budget}"
        assert run_script(script, ["--model_name_or_path", tiny_model, "--output_dir", out,
                                   "--max_tokens_per_batch", budget, "--num_train_epochs", 2, "--do_train"]) == 0
        results[budget] = json.loads((out / "performance.json").read_text())
    # Both batchings train on exactly the same sub-words (2 epochs of the same inputs), only padding differs.
    assert results[0]["train_real_tokens"] == results[200]["train_real_tokens"] > 0
    assert results[200]["train_padded_per_real"] < results[0]["train_padded_per_real"]
    for figures in results.values():
        assert figures["train_padded_tokens"] >= figures["train_real_tokens"]
        assert figures["peak_rss_bytes"] > 0 and figures["train_real_tokens_per_second"] > 0

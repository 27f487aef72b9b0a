"""Training-recipe options both scripts take the same way: layer-wise learning-rate decay and label smoothing."""

import json
from pathlib import Path

import pytest
import torch

import run_ner
import run_ner_no_trainer
from nerkit import time_budget
from nerkit.losses import WeightedLoss
from nerkit.optimization import layer_depth

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
FILES = ["--train_file", str(SAMPLE / "train.conll"), "--validation_file", str(SAMPLE / "dev.conll")]
TINY = ["--max_train_samples", "16", "--max_eval_samples", "16", "--per_device_train_batch_size", "4", "--seed", "3"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def trainer_run(model, folder, *options):
    run_ner.main(["--model_name_or_path", str(model), *FILES, *TINY, "--do_train", "--max_steps", "1",
                  "--save_strategy", "steps", "--save_steps", "1", "--report_to", "none", "--learning_rate", "1e-3",
                  "--output_dir", str(folder), *options])
    return torch.load(folder / "checkpoint-1" / "optimizer.pt", weights_only=True)["param_groups"]


def loop_run(model, folder, *options):
    run_ner_no_trainer.main(["--model_name_or_path", str(model), *FILES, *TINY, "--do_train", "--max_train_steps", "1",
                             "--checkpointing_steps", "1", "--learning_rate", "1e-3", "--output_dir", str(folder),
                             *options])
    return torch.load(folder / "step_1" / "optimizer.bin", weights_only=True)["param_groups"]


def group_rates(groups):
    return sorted((round(group["initial_lr"], 12), group["weight_decay"], len(group["params"])) for group in groups)


def test_layerwise_decay_gives_each_layer_its_rate_in_both_scripts(tiny_model, tmp_path):
    """The classifier trains at --learning_rate, each layer below at 0.5 times the one above, the embeddings
    lowest; the Trainer and the loop build the same groups, and without the option there is one rate."""
    layers = json.loads((Path(tiny_model) / "config.json").read_text())["num_hidden_layers"]
    trainer_groups = trainer_run(tiny_model, tmp_path / "trainer", "--layerwise_lr_decay", "0.5",
                                 "--weight_decay", "0.01")
    loop_groups = loop_run(tiny_model, tmp_path / "loop", "--layerwise_lr_decay", "0.5", "--weight_decay", "0.01")
    assert group_rates(trainer_groups) == group_rates(loop_groups)
    rates = {round(group["initial_lr"], 12) for group in trainer_groups}
    assert rates == {round(1e-3 * 0.5 ** depth, 12) for depth in range(layers + 2)}

    plain = trainer_run(tiny_model, tmp_path / "plain", "--weight_decay", "0.01")
    assert {group["initial_lr"] for group in plain} == {1e-3}


def test_layer_depths_of_a_bert_token_classifier(tiny_model):
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=3)
    layers = model.config.num_hidden_layers
    depths = {name: layer_depth(name, layers) for name, _ in model.named_parameters()}
    assert {depth for name, depth in depths.items() if "embeddings" in name} == {0}
    assert {depth for name, depth in depths.items() if name.startswith("classifier")} == {layers + 1}
    assert sorted({depth for name, depth in depths.items() if ".layer." in name}) == list(range(1, layers + 1))


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_layerwise_decay_out_of_range_is_one_line(tiny_model, tmp_path, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_ner.main(["--model_name_or_path", str(tiny_model), *FILES, "--do_train", "--output_dir", str(tmp_path),
                      "--layerwise_lr_decay", value])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: --layerwise_lr_decay must be in (0, 1], got {float(value)}"


def test_label_smoothing_is_the_cross_entropys():
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]]])
    labels = torch.tensor([[0, -100]])
    smoothed = WeightedLoss(None, label_smoothing=0.2)({"logits": logits}, labels)
    expected = torch.nn.functional.cross_entropy(logits[0, :1], labels[0, :1], label_smoothing=0.2)
    assert torch.isclose(smoothed, expected)
    assert not torch.isclose(smoothed, WeightedLoss(None)({"logits": logits}, labels))


def test_label_smoothing_changes_training_in_both_scripts(tiny_model, tmp_path):
    """--label_smoothing_factor is the Trainer's own option; with our loss function the Trainer would ignore it,
    so both scripts apply it: the same first step (same seed, same batch) gives another training loss (what it
    is, is the cross-entropy's: test_label_smoothing_is_the_cross_entropys)."""
    losses = {}
    for name, smoothing in (("plain", "0"), ("smoothed", "0.3")):
        trainer_run(tiny_model, tmp_path / f"trainer-{name}", "--label_smoothing_factor", smoothing)
        loop_run(tiny_model, tmp_path / f"loop-{name}", "--label_smoothing_factor", smoothing)
        losses[name] = [json.loads((tmp_path / f"{script}-{name}" / "train_results.json").read_text())["train_loss"]
                        for script in ("trainer", "loop")]
    for script in (0, 1):  # the two scripts draw their batches from different random streams
        assert abs(losses["smoothed"][script] - losses["plain"][script]) > 1e-3


# --- --time_budget --------------------------------------------------------------------------------------------


def read_history(folder: Path, script: str, last_step: int):
    """The logged training history: the Trainer's trainer_state.json, the loop's last checkpoint's state."""
    if script == "trainer":
        return json.loads((folder / "trainer_state.json").read_text())["log_history"]
    return json.loads((folder / f"step_{last_step}" / "loop_state.json").read_text())["log_history"]


def train_with_budget(model, folder, script, budget, *options):
    common = ["--model_name_or_path", str(model), *FILES, *TINY, "--do_train", "--learning_rate", "1e-3",
              "--output_dir", str(folder), "--time_budget", budget, "--num_train_epochs", "40", "--logging_steps", "1",
              *options]
    if script == "trainer":
        run_ner.main([*common, "--report_to", "none", "--save_strategy", "no"])
    else:
        run_ner_no_trainer.main(common)
    return json.loads((folder / "train_results.json").read_text())


@pytest.mark.parametrize("script", ["trainer", "loop"])
def test_the_budget_fixes_the_steps_and_the_schedule_ends_with_them(tiny_model, tmp_path, script, monkeypatch):
    """40 epochs planned; a clock that says each step takes 1/9 s and a 12 s budget: after the calibration steps
    (a twentieth of the plan) the budget leaves room for about 90 more, training stops there, and the linear
    schedule was fitted to them: it falls by the same amount each step, to 0 after the last one (both scripts log
    the rate a step used: the last step's is one step's fall above 0)."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(time_budget, "monotonic_clock", lambda: float(next(ticks)))
    last = 100  # calibration (10 steps) + what 10 s left allow at 1/9 s a step, give or take the rounding
    results = train_with_budget(tiny_model, tmp_path, script, "12s",
                                *([] if script == "trainer" else ["--checkpointing_steps", "1"]))  # the loop's history is in its checkpoints
    steps = results["time_budget_steps"]
    assert results["planned_steps"] >= 40 * 4  # 16 sentences in batches of about 4
    assert last - 2 <= steps <= last
    rates = [entry["learning_rate"] for entry in read_history(tmp_path, script, steps) if "learning_rate" in entry]
    assert len(rates) == steps
    assert rates[-1] == pytest.approx(1e-3 / steps, abs=1e-12)
    falls = [earlier - later for earlier, later in zip(rates[11:], rates[12:])]  # the new schedule from step 12
    assert falls == pytest.approx([1e-3 / steps] * len(falls))


@pytest.mark.parametrize("script", ["trainer", "loop"])
def test_a_generous_budget_trains_what_was_planned(tiny_model, tmp_path, script):
    steps = ["--max_steps", "12"] if script == "trainer" else ["--max_train_steps", "12", "--checkpointing_steps", "12"]
    results = train_with_budget(tiny_model, tmp_path, script, "1h", *steps)
    assert results["planned_steps"] == results["time_budget_steps"] == 12
    rates = [entry["learning_rate"] for entry in read_history(tmp_path, script, 12) if "learning_rate" in entry]
    assert len(rates) == 12 and rates[-1] == pytest.approx(1e-3 / 12, abs=1e-12)


@pytest.mark.parametrize("options, message", [
    (["--time_budget", "soon"], "error: --time_budget: expected a duration such as 900, 15m, 1.5h or 1h30m, got 'soon'"),
    (["--time_budget", "0m"], "error: --time_budget must be more than 0 seconds, got '0m'"),
    (["--time_budget", "10m", "--lr_scheduler_type", "polynomial"],
     "error: --time_budget fits the linear, cosine, constant, constant_with_warmup schedules to the steps it "
     "allows, not polynomial"),
])
def test_time_budget_errors_are_one_line(tiny_model, tmp_path, capsys, options, message):
    with pytest.raises(SystemExit) as stopped:
        run_ner.main(["--model_name_or_path", str(tiny_model), *FILES, *TINY, "--do_train", "--report_to", "none",
                      "--output_dir", str(tmp_path), *options])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == message

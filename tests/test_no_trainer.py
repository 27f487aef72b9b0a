"""run_ner_no_trainer.py on a tiny random BERT: arguments, outputs, parity with run_ner.py, the loop's options.

Runs call ``main(argv)`` in-process (no launcher is involved), which is much faster than a subprocess each.
"""

import base64
import json
from collections import Counter
from pathlib import Path

import pytest
from transformers import HfArgumentParser, SchedulerType

import run_ner
import run_ner_no_trainer
from nerkit.arguments import DataTrainingArguments, ModelArguments, parse_arguments
from nerkit.errors import UserError
from nerkit.loop_arguments import LoopArguments

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
FILES = ["--train_file", str(SAMPLE / "train.conll"), "--validation_file", str(SAMPLE / "dev.conll"),
         "--test_file", str(SAMPLE / "test.conll")]
SMALL = ["--max_train_samples", "40", "--max_eval_samples", "40", "--max_predict_samples", "40"]
TINY = ["--max_train_samples", "16", "--max_eval_samples", "16"]
TIMING = ("runtime", "_per_second", "_time")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def parse(argv):
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, LoopArguments))
    return parse_arguments(parser, argv)


def results(folder: Path, name: str):
    return json.loads((folder / f"{name}_results.json").read_text())


def without_timing(metrics):
    return {key: value for key, value in metrics.items() if not key.endswith(TIMING)}


# --- arguments ------------------------------------------------------------------------------------------------


def test_every_upstream_argument_is_accepted():
    upstream = [
        "--dataset_name", "conll2003", "--dataset_config_name", "default", "--train_file", "t.json",
        "--validation_file", "v.json", "--text_column_name", "tokens", "--label_column_name", "ner_tags",
        "--max_length", "64", "--pad_to_max_length", "--model_name_or_path", "m", "--config_name", "c",
        "--tokenizer_name", "t", "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4",
        "--learning_rate", "3e-5", "--weight_decay", "0.01", "--num_train_epochs", "2", "--max_train_steps", "10",
        "--gradient_accumulation_steps", "2", "--lr_scheduler_type", "cosine", "--num_warmup_steps", "3",
        "--output_dir", "o", "--seed", "7", "--model_type", "bert", "--label_all_tokens",
        "--return_entity_level_metrics", "--task_name", "ner", "--debug", "--push_to_hub", "--hub_model_id", "me/m",
        "--hub_token", "x", "--trust_remote_code", "--checkpointing_steps", "epoch", "--resume_from_checkpoint",
        "o/step_3", "--with_tracking", "--report_to", "tensorboard", "--ignore_mismatched_sizes",
    ]
    model_args, data_args, args = parse(upstream)
    assert data_args.max_seq_length == 64 and data_args.pad_to_max_length and data_args.label_all_tokens
    assert model_args.trust_remote_code and model_args.ignore_mismatched_sizes and model_args.tokenizer_name == "t"
    assert args.lr_scheduler_type == SchedulerType.COSINE and args.checkpointing_steps == "epoch"
    assert args.resume_from_checkpoint == "o/step_3" and args.max_train_steps == 10 and args.seed == 7


@pytest.mark.parametrize("argv, expected", [([], None), (["--resume_from_checkpoint"], "latest"),
                                            (["--resume_from_checkpoint", "out/step_4"], "out/step_4")])
def test_resume_from_checkpoint_without_value_means_latest(argv, expected):
    *_, args = parse(["--model_name_or_path", "m", "--train_file", "t", *argv, "--output_dir", "out"])
    assert args.resume_from_checkpoint == expected


def test_arguments_from_a_yaml_file(tmp_path):
    path = tmp_path / "args.yaml"
    path.write_text("model_name_or_path: m\ntrain_file: t.conll\noutput_dir: out\ncheckpointing_steps: 25\n"
                    "early_stopping_patience: 2\nmixed_precision: bf16\n")
    _, _, args = parse([str(path)])
    assert args.checkpointing_steps == 25 and args.early_stopping_patience == 2 and args.mixed_precision == "bf16"


@pytest.mark.parametrize("bad", [["--checkpointing_steps", "often"], ["--checkpointing_steps", "0"],
                                 ["--gradient_accumulation_steps", "0"], ["--early_stopping_patience", "0"]])
def test_bad_loop_arguments(bad):
    with pytest.raises(UserError):
        parse(["--model_name_or_path", "m", "--train_file", "t", "--output_dir", "o", *bad])


# --- a trained model and its outputs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    """One training run with no --do_* flag: train, evaluate and predict because all three splits are given."""
    output = tmp_path_factory.mktemp("trained")
    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES, *SMALL, "--num_train_epochs", "1",
                             "--output_dir", str(output), "--overwrite_output_dir"])
    return output


def test_outputs_of_a_default_run(trained):
    for name in ("model.safetensors", "config.json", "tokenizer.json", "all_results.json", "train_results.json",
                 "eval_results.json", "eval_report.txt", "predict_results.json", "predict_report.txt",
                 "predictions.conll", "predictions.jsonl", "README.md", "learning_curve.png", "confusion.txt"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    assert labels == sorted(labels) and len(labels) == 9 and "O" in labels  # upstream's label order
    train = results(trained, "train")
    assert train["train_samples"] == 40 and train["epoch"] == 1.0 and train["train_loss"] > 0
    evaluation = results(trained, "eval")
    assert {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "eval_overall_f1", "eval_per_type",
            "eval_loss", "eval_samples", "eval_runtime"} <= set(evaluation)
    assert "python run_ner_no_trainer.py" in (trained / "README.md").read_text()  # the model card's command
    # the loop's learning curve is inside both report pages, byte for byte
    curve = base64.b64encode((trained / "learning_curve.png").read_bytes()).decode("ascii")
    assert all(curve in (trained / name).read_text() for name in ("eval_report.html", "report.html"))
    combined = json.loads((trained / "all_results.json").read_text())
    assert combined["train_loss"] == train["train_loss"] and combined["predict_f1"] == results(trained, "predict")["predict_f1"]


def test_same_metrics_and_prediction_files_as_run_ner(trained, tmp_path):
    """Both scripts evaluating the same model: identical metrics, byte-identical prediction files."""
    common = ["--model_name_or_path", str(trained), *FILES[2:], *SMALL[2:], "--do_eval", "--do_predict",
              "--per_device_eval_batch_size", "64"]  # one batch: the Trainer's batch-mean loss is the per-token one
    run_ner.main([*common, "--output_dir", str(tmp_path / "trainer"), "--report_to", "none"])
    run_ner_no_trainer.main([*common, "--output_dir", str(tmp_path / "loop")])
    for prefix in ("eval", "predict"):
        trainer, loop = (without_timing(results(tmp_path / name, prefix)) for name in ("trainer", "loop"))
        assert loop.pop(f"{prefix}_loss") == pytest.approx(trainer.pop(f"{prefix}_loss"), rel=1e-6)
        assert loop == trainer
    for name in ("predictions.conll", "predictions.jsonl", "eval_report.txt", "predict_report.txt"):
        assert (tmp_path / "loop" / name).read_bytes() == (tmp_path / "trainer" / name).read_bytes(), name


# --- the loop ---------------------------------------------------------------------------------------------------


def test_gradient_accumulation_steps_after_the_whole_accumulation(tiny_model, tmp_path):
    """48 inputs in 6 batches, 4 per step: the first optimizer step after batch 4 (not 1), the second at the end."""
    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:2], "--max_train_samples", "40",
                             "--num_train_epochs", "1", "--gradient_accumulation_steps", "4",
                             "--max_tokens_per_batch", "0", "--pack_length", "0",  # upstream's batches of 8
                             "--checkpointing_steps", "1", "--output_dir", str(tmp_path)])
    states = {path.name: json.loads((path / "loop_state.json").read_text()) for path in tmp_path.glob("step_*")}
    assert sorted(states) == ["step_1", "step_2"]
    assert states["step_1"]["step_in_epoch"] == 4 and states["step_2"]["step_in_epoch"] == 6
    assert results(tmp_path, "train")["epoch"] == 1.0


def test_optimizer_is_the_trainers_fused_adamw(tiny_model, tmp_path):
    """The loop steps the optimizer the Trainer builds by default: fused AdamW (one kernel, not a loop over
    tensors), weight decay on the same parameters, as its checkpoint's optimizer state shows."""
    import torch
    from transformers import AutoModelForTokenClassification, Trainer, TrainingArguments

    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:2], *TINY, "--num_train_epochs", "1",
                             "--weight_decay", "0.01", "--checkpointing_steps", "epoch", "--output_dir", str(tmp_path)])
    loop_groups = torch.load(tmp_path / "epoch_0" / "optimizer.bin", weights_only=True)["param_groups"]

    model = AutoModelForTokenClassification.from_pretrained(tmp_path)
    trainer = Trainer(model=model, args=TrainingArguments(str(tmp_path / "trainer"), weight_decay=0.01, use_cpu=True,
                                                          report_to="none"))
    trainer_groups = trainer.create_optimizer().state_dict()["param_groups"]
    assert [(group["fused"], group["weight_decay"], len(group["params"])) for group in loop_groups] == \
        [(group["fused"], group["weight_decay"], len(group["params"])) for group in trainer_groups]
    assert loop_groups[0]["fused"] is True


def test_early_stopping_on_validation_f1(tiny_model, tmp_path):
    """With a learning rate of 0 the F1 never improves: patience 1 stops after the 2nd of 5 epochs."""
    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:4], *TINY, "--learning_rate", "0",
                             "--num_train_epochs", "5", "--early_stopping_patience", "1", "--output_dir", str(tmp_path)])
    assert results(tmp_path, "train")["epoch"] == 2.0
    assert (tmp_path / "model.safetensors").is_file()


def test_tracking_writes_tensorboard_events(tiny_model, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:4], *TINY, "--num_train_epochs", "1",
                             "--with_tracking", "--report_to", "tensorboard", "--logging_steps", "1",
                             "--output_dir", str(tmp_path)])
    tags = set()
    for events in (tmp_path / "runs").rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags.update(accumulator.Tags()["scalars"])
    assert {"train/loss", "train/learning_rate", "eval/f1", "eval/loss", "eval/precision"} <= tags


def test_windows_context_constrained_decoding_class_weights(tiny_model, tmp_path):
    """Short windows, document context, Viterbi, class weights, all sub-words labelled: every word predicted,
    and the metrics count gold entities per word (label_all_tokens cannot inflate them)."""
    from seqeval.metrics.sequence_labeling import get_entities

    from nerkit.arguments import DataTrainingArguments
    from nerkit.data import load_data

    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:2], *FILES[4:], "--max_train_samples", "20",
                             "--max_predict_samples", "20", "--do_train", "--do_predict", "--num_train_epochs", "1",
                             "--max_seq_length", "16", "--stride", "4", "--context_size", "4",
                             "--constrained_decoding", "--class_weights", "auto", "--label_all_tokens",
                             "--pad_to_max_length", "--output_dir", str(tmp_path)])
    test = load_data(DataTrainingArguments(test_file=str(SAMPLE / "test.conll"), max_predict_samples=20),
                     splits=("test",)).splits["test"]
    lines = [line for line in (tmp_path / "predictions.conll").read_text().splitlines()
             if line.strip() and not line.startswith("-DOCSTART-")]
    assert len(lines) == sum(len(tokens) for tokens in test["tokens"])
    gold = Counter(kind for tags in test["ner_tags"] for kind, _, _ in get_entities(tags))
    per_type = results(tmp_path, "predict")["predict_per_type"]
    assert {kind: scores["number"] for kind, scores in per_type.items() if scores["number"]} == dict(gold)
    assert not (tmp_path / "eval_results.json").exists()


def test_bf16_mixed_precision_on_cpu(tiny_model, tmp_path):
    run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:4], *TINY, "--num_train_epochs", "1",
                             "--mixed_precision", "bf16",
                             "--output_dir", str(tmp_path)])
    assert results(tmp_path, "eval")["eval_loss"] > 0


# --- user errors: one line, exit status 2 -----------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--train_file", "missing.conll"], "missing.conll"),
    (["--train_file", str(SAMPLE / "train.conll"), "--early_stopping_patience", "2"], "needs training and a validation split"),
    (["--validation_file", str(SAMPLE / "dev.conll"), "--resume_from_checkpoint", "nowhere"], "checkpoint folder not found"),
    (["--train_file", str(SAMPLE / "train.conll"), "--checkpointing_steps", "often"], "--checkpointing_steps"),
])
def test_user_errors_are_one_line(tiny_model, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), "--output_dir", str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error


def test_non_empty_output_dir_needs_overwrite(tiny_model, tmp_path, capsys):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(SystemExit):
        run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:2], "--output_dir", str(tmp_path)])
    assert "--overwrite_output_dir" in capsys.readouterr().err


def test_a_launch_of_two_processes_that_became_one_is_refused(tiny_model, tmp_path, capsys, monkeypatch):
    """Two launched processes on a device Accelerate does not spread processes over (an Apple GPU, say): not two
    silent single-process runs."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    monkeypatch.setattr("nerkit.script_setup.runs_on_cpu", lambda use_cpu: use_cpu)  # a device, but not CUDA
    with pytest.raises(SystemExit):
        run_ner_no_trainer.main(["--model_name_or_path", str(tiny_model), *FILES[:2], "--output_dir", str(tmp_path)])
    assert "add --use_cpu" in capsys.readouterr().err

"""bf16 autocast by default on a CPU with bf16 instructions, in both training scripts, unless a precision is chosen."""

from pathlib import Path

import pytest
import torch

import run_ner
import run_ner_no_trainer
from nerkit import runtime

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
COMMON = ["--train_file", SAMPLE / "train.conll", "--validation_file", SAMPLE / "dev.conll",
          "--max_train_samples", 24, "--max_eval_samples", 12, "--num_train_epochs", 1, "--max_seq_length", 48,
          "--per_device_train_batch_size", 8, "--seed", 1,
          # No packing: its check of the model (nerkit.packing) runs three small forward passes in fp32 by design.
          "--pack_length", 0]
SCRIPTS = {"trainer": (run_ner.main, ["--report_to", "none", "--save_strategy", "no", "--disable_tqdm", "true",
                                      "--do_train", "--do_eval"]),
           "no_trainer": (run_ner_no_trainer.main, [])}


@pytest.mark.parametrize("wanted, on_cpu, chosen, has_bf16, expected", [
    (True, True, False, True, True),
    (False, True, False, True, False),  # --no_cpu_bf16
    (True, False, False, True, False),  # a GPU: not measured there, the user decides
    (True, True, True, True, False),  # --fp16/--bf16/--mixed_precision given
    (True, True, False, False, False),  # emulated bf16 is slower than fp32
])
def test_when_bf16_is_turned_on(monkeypatch, wanted, on_cpu, chosen, has_bf16, expected):
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: has_bf16)
    assert runtime.use_cpu_bf16(wanted, on_cpu, chosen) is expected


def linear_output_dtypes(main, argv):
    """The dtypes every Linear layer produced while ``main(argv)`` ran (training and evaluation)."""
    seen = set()

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Linear):
            seen.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        main([str(a) for a in argv])
    finally:
        handle.remove()
    return seen


@pytest.mark.parametrize("script", SCRIPTS)
def test_bf16_by_default_on_a_cpu_with_bf16_instructions(monkeypatch, tmp_path, tiny_model, script):
    main, extra = SCRIPTS[script]
    argv = ["--model_name_or_path", tiny_model, *COMMON, *extra]
    if torch.cuda.is_available():
        argv.append("--use_cpu")
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    assert linear_output_dtypes(main, [*argv, "--output_dir", tmp_path / "default"]) == {torch.bfloat16}
    assert linear_output_dtypes(main, [*argv, "--output_dir", tmp_path / "off", "--no_cpu_bf16"]) == {torch.float32}
    if script == "no_trainer":
        assert linear_output_dtypes(main, [*argv, "--output_dir", tmp_path / "no", "--mixed_precision", "no"]) == {torch.float32}
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)
    assert linear_output_dtypes(main, [*argv, "--output_dir", tmp_path / "none"]) == {torch.float32}

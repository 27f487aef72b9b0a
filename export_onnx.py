#!/usr/bin/env python
"""Export a trained NER model (a training run's output_dir) to ONNX, optionally INT8, and score the export.

    python export_onnx.py --model out/conll --output out/conll-onnx --quantize int8 \\
        --validation_file ../shared/data/conll2003/eng.testb

The output folder holds ``model.onnx`` (fp32, dynamic batch and sequence axes, the inputs the model's layout
needs: ``input_ids``, ``attention_mask``, ``token_type_ids`` for the case feature, ``position_ids`` for packed
sentences kept apart; output ``logits``), ``model_quantized.onnx`` with ``--quantize int8`` (ONNX Runtime
dynamic quantisation), the tokenizer and ``config.json`` with the layout. ``predict_ner.py --backend onnx`` (or
``onnx-int8``) and ``NerTagger.load(folder, backend=...)`` read it with the same reading, windowing, packing and
decoding as PyTorch. The fp32 graph's logits are checked against PyTorch's when it is written.

With ``--validation_file`` (a file with gold tags), PyTorch, ONNX fp32 and INT8 predict it and
``export_report.json`` gets each one's F1 (overall and per type), words per second, model file size, the time
from loading to the first prediction and the share of sentences with PyTorch's entities. The run then exits 2
with one line when fp32 F1 differs from PyTorch's by more than 0.05 points or INT8 loses more than
``--max_f1_drop`` points; the folder is kept, with the report, for a look. Needs ``pip install -r
requirements-onnx.txt``. User errors print one line, exit 2 and write nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from nerkit.errors import SetupError, exit_on_user_error
from nerkit.files import atomic_write

logger = logging.getLogger("export_onnx")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="Trained model folder (a training run's output_dir).")
    parser.add_argument("--output", required=True, help="Folder to create for the export (must not exist).")
    parser.add_argument("--quantize", choices=("none", "int8"), default="none",
                        help="int8: also write model_quantized.onnx, ONNX Runtime dynamic int8 quantisation.")
    parser.add_argument("--validation_file", default=None,
                        help="A file with gold tags (any word-level format): score PyTorch, ONNX fp32 and INT8 on "
                             "it and write export_report.json.")
    parser.add_argument("--max_f1_drop", type=float, default=0.5,
                        help="Largest F1 loss of INT8 against PyTorch, in points (0-100), before the run fails.")
    parser.add_argument("--batch_size", type=int, default=32, help="Inputs per forward pass while scoring.")
    parser.add_argument("--trust_remote_code", action="store_true", help="Allow model code from the hub.")
    parser.add_argument("--quiet", action="store_true", help="Warnings and errors only.")
    return parser


def check_arguments(args) -> Path:
    output = Path(args.output)
    if output.exists():
        raise SetupError("--output exists; give a new folder name", path=args.output)
    if args.max_f1_drop < 0:
        raise SetupError(f"--max_f1_drop must be >= 0, got {args.max_f1_drop}")
    if args.validation_file is not None and not Path(args.validation_file).is_file():
        raise SetupError("--validation_file not found", path=args.validation_file)
    return output


@exit_on_user_error
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s - %(name)s - %(message)s", stream=sys.stderr,
                        level=logging.WARNING if args.quiet else logging.INFO)
    output = check_arguments(args)
    from nerkit.inference.onnx_backend import import_onnxruntime

    import_onnxruntime()  # before the seconds of loading the model
    from nerkit.export import export_folder
    from nerkit.export_scoring import read_gold, score_export, verdict
    from nerkit.inference import NerTagger, quiet_transformers

    if args.validation_file is not None:
        read_gold(args.validation_file)  # a bad file is said before the export, not after it
    options = {"batch_size": args.batch_size, "device": "cpu", "constrained": True}  # predict_ner.py's defaults
    with quiet_transformers(args.quiet):
        tagger = NerTagger.load(args.model, dtype="float32", trust_remote_code=args.trust_remote_code, **options)
    done = export_folder(tagger, output, quantize=args.quantize == "int8")
    logger.info(f"exported to {output} (inputs {', '.join(done['inputs'])}; fp32 logits within "
                f"{done['max_logit_difference']:.1g} of PyTorch's)")
    if args.validation_file is None:
        return 0
    backends = ["onnx"] + (["onnx-int8"] if args.quantize == "int8" else [])
    with quiet_transformers(args.quiet):
        report = score_export(Path(args.model), output, args.validation_file, backends,
                              {**options, "trust_remote_code": args.trust_remote_code})
    report["export"] = done
    with atomic_write(output / "export_report.json") as stream:
        json.dump(report, stream, indent=2)
    for name, result in report["backends"].items():
        print(f"{name:<10} F1 {100 * result['f1']:.2f}  {result['words_per_second']:,.0f} words/s "
              f"({result['words_per_cpu_second']:,.0f} per CPU second)  "
              f"{result['model_bytes'] / 2**20:.1f} MiB  first prediction after {result['load_to_first_prediction_seconds']:.1f} s  "
              f"same entities as PyTorch on {100 * result['same_entities_as_pytorch']:.2f}% of sentences", file=sys.stderr)
    problem = verdict(report, args.max_f1_drop)
    if problem is not None:
        raise SetupError(f"{problem} (see export_report.json)", path=str(output))
    return 0


if __name__ == "__main__":
    main()

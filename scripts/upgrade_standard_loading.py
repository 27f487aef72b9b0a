#!/usr/bin/env python
"""Give a model folder trained before the case feature travelled with it the code that sets it under transformers'
standard loading (``nerkit.standard_loading``): ``case_feature_tokenizer.py``, ``tokenizer_config.json`` naming its
tokenizer, ``config.json`` naming its pipeline. Models trained now get these when saved.

    python scripts/upgrade_standard_loading.py out/conll            # in place
    python scripts/upgrade_standard_loading.py out/conll --copy_to out/conll-hf

A model trained without the case feature needs nothing and is left as it is. The model card (``README.md``) is
not rewritten: its "transformers" example is the one of the version that trained it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nerkit.errors import SetupError, exit_on_user_error  # noqa: E402
from nerkit.standard_loading import is_case_feature_model, write_standard_loading  # noqa: E402


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="A trained model folder (a training run's output_dir).")
    parser.add_argument("--copy_to", default=None, help="Upgrade a copy in this new folder; the model folder stays as it is.")
    return parser.parse_args(argv)


@exit_on_user_error
def main(argv=None) -> None:
    args = parse_arguments(argv)
    folder = Path(args.model)
    if not (folder / "config.json").is_file() or not (folder / "tokenizer_config.json").is_file():
        raise SetupError("not a trained model folder (no config.json or tokenizer_config.json)", path=args.model)
    if args.copy_to and Path(args.copy_to).exists():
        raise SetupError("--copy_to already exists; give a new folder", path=args.copy_to)
    if not is_case_feature_model(folder):
        print(f"{folder}: trained without the case feature; transformers' standard loading needs nothing more")
        return
    if args.copy_to:
        shutil.copytree(folder, args.copy_to)
        folder = Path(args.copy_to)
    write_standard_loading(folder)
    print(f"{folder}: load with trust_remote_code=True (AutoTokenizer, pipeline) to get the case feature")


if __name__ == "__main__":
    main()

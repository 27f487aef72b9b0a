"""Loading config, tokenizer and model with the checks both training scripts need.

- A model that cannot be found gives one clear line, not a hub traceback.
- Tokenizers of the byte-level BPE families need ``add_prefix_space=True`` to take pre-split words.
- A slow (Python) tokenizer is refused with the model's name: alignment needs ``word_ids()``.
- ``trust_remote_code`` is passed through and stays off unless asked for.
"""

from __future__ import annotations

import os
from typing import List

from .errors import NerDataError

# Byte-level BPE tokenizers that mark word starts with a space: pre-split words need a prefix space.
PREFIX_SPACE_MODEL_TYPES = {"roberta", "gpt2", "bloom", "deberta", "longformer", "bart", "mvp", "led", "gpt_neo", "gpt_neox"}


def _hub_kwargs(model_args) -> dict:
    return {
        "cache_dir": model_args.cache_dir,
        "revision": model_args.model_revision,
        "token": model_args.token,
        "trust_remote_code": model_args.trust_remote_code,
    }


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def load_config(model_args, **overrides):
    """``AutoConfig`` of ``--config_name`` or the model, with ``overrides`` (labels, task)."""
    from transformers import AutoConfig

    name = model_args.config_name or model_args.model_name_or_path
    try:
        return AutoConfig.from_pretrained(name, **_hub_kwargs(model_args), **overrides)
    except (OSError, ValueError, KeyError) as error:
        raise _missing_model(name) or NerDataError(f"cannot load a model config from {name!r}: {_first_line(error)}") from None


def _missing_model(name: str):
    """A plain error for a local model folder that is not there or holds no config.json (the hub's own message
    for these talks about repo ids), or None when ``name`` may be a hub id."""
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, "config.json")):
            return NerDataError("no config.json in this folder: not a saved model (save_pretrained or a run's output_dir)", path=name)
        return None
    looks_local = os.path.isabs(path) or name.startswith((".", "~")) or "\\" in name or name.count("/") > 1
    return NerDataError("model folder not found", path=name) if looks_local and not os.path.exists(path) else None


def load_tokenizer(model_args, config):
    """A fast tokenizer for pre-split words."""
    from transformers import AutoTokenizer

    name = model_args.tokenizer_name or model_args.model_name_or_path
    kwargs = _hub_kwargs(model_args)
    if getattr(config, "model_type", None) in PREFIX_SPACE_MODEL_TYPES:
        kwargs["add_prefix_space"] = True
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NerDataError(f"cannot load a tokenizer from {name!r}: {_first_line(error)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise NerDataError(
            f"the tokenizer of {name!r} is a slow (Python) tokenizer; word alignment needs a fast one "
            "(a tokenizer.json, or a model whose tokenizer converts to the tokenizers library)"
        )
    return tokenizer


def load_model(model_args, config, label_list: List[str]):
    """``AutoModelForTokenClassification`` with the label maps set in ``config``."""
    from transformers import AutoModelForTokenClassification

    try:
        return AutoModelForTokenClassification.from_pretrained(
            model_args.model_name_or_path,
            config=config,
            ignore_mismatched_sizes=model_args.ignore_mismatched_sizes,
            **_hub_kwargs(model_args),
        )
    except (OSError, ValueError) as error:
        raise NerDataError(f"cannot load model weights from {model_args.model_name_or_path!r}: {_first_line(error)}") from None


def label_config(model_args, label_list: List[str], task_name: str):
    """The config with ``id2label``/``label2id`` for ``label_list``."""
    return load_config(
        model_args,
        num_labels=len(label_list),
        id2label=dict(enumerate(label_list)),
        label2id={label: index for index, label in enumerate(label_list)},
        finetuning_task=task_name,
    )


def load_for_token_classification(model_args, data_args, raw_datasets, do_train: bool):
    """Label list, config, tokenizer and model, in that order (see ``nerkit.labels`` for the label rules)."""
    from .labels import labels_from_data, resolve_labels

    data_labels = labels_from_data(tags for split in raw_datasets.values() for tags in split["ner_tags"])
    label_list = resolve_labels(data_labels if do_train else None, load_config(model_args),
                                model_args.ignore_mismatched_sizes, model_args.model_name_or_path)
    config = label_config(model_args, label_list, data_args.task_name)
    tokenizer = load_tokenizer(model_args, config)
    check_window_arguments(data_args, tokenizer, config)
    model = load_model(model_args, config, label_list)
    return label_list, config, tokenizer, model


def check_window_arguments(data_args, tokenizer, config) -> None:
    """``--max_seq_length`` / ``--stride`` errors now, before the weights load and the data is tokenised."""
    from .features import WindowSpec, check_window_spec, resolve_max_seq_length

    max_seq_length = resolve_max_seq_length(getattr(data_args, "max_seq_length", None), tokenizer, config)
    check_window_spec(WindowSpec(max_seq_length=max_seq_length, stride=getattr(data_args, "stride", None)), tokenizer)

"""Loading config, tokenizer and model with the checks both training scripts need.

- A model that cannot be found gives one clear line, not a hub traceback.
- Tokenizers of the byte-level BPE families need ``add_prefix_space=True`` to take pre-split words.
- A slow (Python) tokenizer is refused with the model's name: alignment needs ``word_ids()``.
- ``trust_remote_code`` is passed through and stays off unless asked for.
- The input layout (:class:`nerkit.layout.InputLayout`: windows, packing or FLERT context, the case feature) is
  decided here, with the model (:func:`decide_input_layout`), returned by :func:`load_for_token_classification`
  and recorded in its config (:func:`record_input_layout`), so evaluation and prediction build the inputs it was
  trained on.
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import replace
from typing import List, NamedTuple, Optional, Tuple

from . import packing
from .arrow_splits import distinct_values
from .errors import SetupError
from .labels import labels_from_data, pretrained_labels, resolve_labels
from .layout import Arrangement, InputLayout, LayoutRequest, resolve_window
from .schemes import PLAIN, scheme_of_labels
from .standard_loading import is_case_feature_tokenizer

logger = logging.getLogger(__name__)

# Byte-level BPE tokenizers that mark word starts with a space: pre-split words need a prefix space.
PREFIX_SPACE_MODEL_TYPES = {"roberta", "gpt2", "bloom", "deberta", "longformer", "bart", "mvp", "led", "gpt_neo",
                            "gpt_neox"}


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
        raise missing_model_error(name) or SetupError(f"cannot load a model config from {name!r}: "
                                                   f"{_first_line(error)}") from None


def has_plain_labels(model_args) -> bool:
    """Whether the model is a token classifier already trained on plain labels (POS tags...), whose data must
    then be read as plain labels too; False when its config cannot be read (loading the model says why)."""
    try:
        labels = pretrained_labels(load_config(model_args))
    except SetupError:
        return False
    return labels is not None and scheme_of_labels(labels) is PLAIN


def missing_model_error(name: str) -> Optional[SetupError]:
    """A plain error for a local model folder that is not there or holds no config.json (the hub's own message
    for these talks about repo ids), or None when ``name`` may be a hub id."""
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, "config.json")):
            return SetupError("no config.json in this folder: not a saved model (save_pretrained or a run's output_dir)", path=name)
        return None
    # A hub id is "name" or "owner/name"; "folder/name" with a local folder of that name means a local path.
    looks_local = os.path.isabs(path) or name.startswith((".", "~")) or "\\" in name or name.count("/") > 1 or (
        "/" in name and os.path.isdir(name.split("/")[0]))
    return SetupError("model folder not found", path=name) if looks_local and not os.path.exists(path) else None


def load_tokenizer(model_args, config):
    """A fast tokenizer for pre-split words. The tokenizer a model trained with the case feature names for standard
    loading (:mod:`nerkit.standard_loading`) is loaded as the plain fast tokenizer under it, with no remote code:
    nerkit builds the case feature's types itself."""
    from transformers import AutoTokenizer, TokenizersBackend

    name = model_args.tokenizer_name or model_args.model_name_or_path
    kwargs = _hub_kwargs(model_args)
    if getattr(config, "model_type", None) in PREFIX_SPACE_MODEL_TYPES:
        kwargs["add_prefix_space"] = True
    hub = {key: kwargs[key] for key in ("cache_dir", "revision", "token")}
    try:
        if is_case_feature_tokenizer(name, **hub):
            tokenizer = TokenizersBackend.from_pretrained(name, **hub)
        else:
            tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SetupError(f"cannot load a tokenizer from {name!r}: {_first_line(error)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise SetupError(
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
        raise SetupError(f"cannot load model weights from {model_args.model_name_or_path!r}: "
                           f"{_first_line(error)}") from None


def label_config(model_args, label_list: List[str], task_name: str):
    """The config with ``id2label``/``label2id`` for ``label_list``."""
    return load_config(
        model_args,
        num_labels=len(label_list),
        id2label=dict(enumerate(label_list)),
        label2id={label: index for index, label in enumerate(label_list)},
        finetuning_task=task_name,
    )


class LoadedModel(NamedTuple):
    """What :func:`load_for_token_classification` returns."""

    labels: List[str]
    config: object
    tokenizer: object
    model: object
    layout: InputLayout


def load_for_token_classification(model_args, data_args, raw_datasets, do_train: bool,
                                  declared_labels: Optional[List[str]] = None) -> LoadedModel:
    """Label list, config, tokenizer, model and the input layout decided with it, recorded in its config (see
    ``nerkit.labels`` for the label rules; ``declared_labels``: the tag names a hub dataset declares,
    ``LoadedData.label_names``)."""
    data_labels = labels_from_data([distinct_values(split, "ner_tags") for split in raw_datasets.values()],
                                   declared_labels, plain=getattr(data_args, "plain_labels", False))
    label_list = resolve_labels(data_labels if do_train else None, load_config(model_args),
                                model_args.ignore_mismatched_sizes, model_args.model_name_or_path)
    config = label_config(model_args, label_list, data_args.task_name)
    tokenizer = load_tokenizer(model_args, config)
    request = LayoutRequest.from_arguments(model_args, data_args)
    resolve_window(request.max_seq_length, request.stride, tokenizer, config)  # errors before the weights load
    model = load_model(model_args, config, label_list)
    layout = decide_input_layout(request, model, tokenizer, model_args.model_name_or_path, do_train)
    if layout.case_feature:
        logger.info("Case feature on: token_type_ids mark words with an upper-case letter (--case_feature off to stop)")
    record_input_layout(model.config, layout)
    return LoadedModel(label_list, model.config, tokenizer, model, layout)


def record_input_layout(config, layout: InputLayout) -> None:
    """Record ``layout`` in the model's config (saved in config.json), where :func:`decide_input_layout` reads it
    back when the model is evaluated or used for prediction."""
    for key, value in layout.config_entries().items():
        setattr(config, key, value)


def decide_input_layout(request: LayoutRequest, model, tokenizer, name: str, do_train: bool) -> InputLayout:
    """The :class:`nerkit.layout.InputLayout` for ``request`` with this model and tokenizer: the window
    (:func:`nerkit.layout.resolve_window`), the case feature (:func:`resolve_case_feature`) and how sentences
    share inputs (:func:`arrange_sentences`). Used by the training scripts and by ``NerTagger``."""
    max_seq_length, stride = resolve_window(request.max_seq_length, request.stride, tokenizer, model.config)
    case_feature = resolve_case_feature(request.case_feature, tokenizer, model, name, do_train)
    arrangement, offset = arrange_sentences(request, model, tokenizer, name, do_train)
    return InputLayout(max_seq_length, stride, arrangement.pack_length, arrangement.context_size,
                       arrangement.pack_attention, offset, case_feature)


def lowercases(tokenizer) -> bool:
    """Whether the tokenizer maps words that differ only in case to the same ids (an uncased model)."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    return encode("Paris IBM") == encode("paris ibm")


def takes_case_feature(model) -> bool:
    """Whether the model has a second token type to carry the case feature."""
    forward = inspect.signature(model.forward).parameters
    return "token_type_ids" in forward and (getattr(model.config, "type_vocab_size", 0) or 0) >= 2


def resolve_case_feature(requested: str, tokenizer, model, name: str, do_train: bool) -> bool:
    """On or off for ``--case_feature`` (auto, on, off).

    Under auto, a model fine-tuned by these scripts is used as it was trained (``config.case_feature``); a
    model without that record is trained with the feature when it can take it and its tokenizer lower-cases,
    and evaluated without it (it was not trained with it).
    """
    recorded: Optional[bool] = getattr(model.config, "case_feature", None)
    if requested == "on":
        if not takes_case_feature(model):
            raise SetupError(f"--case_feature on needs a model with two token types (token_type_ids, "
                               f"type_vocab_size >= 2); {name!r} has none")
        if recorded is False:
            logger.warning(f"{name} was fine-tuned without the case feature; --case_feature on will lower its scores "
                           "until it is trained with it")
        return True
    if requested == "off":
        if recorded is True:
            logger.warning(f"{name} was fine-tuned with the case feature; --case_feature off will lower its scores")
        return False
    if recorded is not None:
        return bool(recorded)
    return do_train and takes_case_feature(model) and lowercases(tokenizer)


def arrange_sentences(request: LayoutRequest, model, tokenizer, name: str,
                      do_train: bool) -> Tuple[Arrangement, Optional[int]]:
    """How sentences share inputs, and where packed sentences kept apart start their position ids (else None).

    What was asked wins; otherwise a model fine-tuned by these scripts and only evaluated is given the
    arrangement it was trained on (a model trained on single sentences scores lower on inputs where sentences
    read each other, and the reverse), and anything else the defaults (:meth:`LayoutRequest.arrangement`).
    Packed sentences kept apart need a model that takes a 4D attention mask and position ids as given
    (:func:`nerkit.packing.isolating_position_offset`); for any other, inputs hold one sentence each.
    """
    recorded = recorded_arrangement(model.config, name, warn=not do_train and request.pack_length is None)
    use_record = recorded is not None and not do_train and not request.asks_arrangement
    arrangement = recorded if use_record else request.arrangement()
    if recorded is not None and not do_train and arrangement != recorded:
        logger.warning(f"{name} was fine-tuned with {recorded.describe()}; evaluating with {arrangement.describe()} "
                       "may lower its scores")
    offset = None
    if arrangement.pack_length and arrangement.pack_attention == "sentence":
        # Through the module, so that tests can stand in for the check.
        offset = packing.isolating_position_offset(model, tokenizer, packing.position_offset_candidates(model.config))
        if offset is None:
            (logger.warning if request.pack_length else logger.info)(
                f"{name} does not keep sentences packed in one input apart (it does not take a 4D attention mask and "
                "position ids as given): one sentence per input")
            arrangement = replace(arrangement, pack_length=0)
    return arrangement, offset


def recorded_arrangement(config, name: str, warn: bool = True) -> Optional[Arrangement]:
    """The :class:`nerkit.layout.Arrangement` the model was fine-tuned with, when its config records it.

    Earlier versions recorded no ``pack_attention``: their packed sentences read each other ("input"). Earlier
    still, the case feature was recorded but not the layout; those packed a document's sentences by default,
    which is worth a warning when such a model is about to be read otherwise."""
    recorded = (getattr(config, "pack_length", None), getattr(config, "context_size", None))
    if None not in recorded:
        attention = getattr(config, "pack_attention", None) or ("input" if recorded[0] else "sentence")
        return Arrangement(*recorded, attention)
    if warn and getattr(config, "case_feature", None) is not None:
        logger.warning(f"{name} does not record how its inputs were built (fine-tuned by an earlier version, which "
                       "packed a document's sentences by default): pass --pack_length 128 --pack_attention input if it "
                       "was trained so")
    return None

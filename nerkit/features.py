"""Words to model inputs, as both training scripts and the tagger run it: two ``datasets.map`` passes.

1. :func:`tokenize_dataset` tokenises every sentence's words once (fast tokenizer, no special tokens) and
   keeps ``word_ids()``; parallel with ``num_proc``, cached by ``datasets`` fingerprints (and
   :func:`cache_file_for` for splits that live in memory).
2. :func:`build_features` cuts each sentence into model inputs (windows, FLERT context or packing, as the
   :class:`nerkit.layout.InputLayout` decided with the model says): see :mod:`nerkit.inputs`.

:func:`prepare_features` runs both over every split.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from .inputs import DocumentBatches, FeatureSpec, build_inputs, check_window_spec
from .layout import InputLayout, special_tokens
from .packing import DEFAULT_PACK_POOL, pack_order

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when tokenize_words or build_inputs change what they produce


# --- pass 1: tokenise words once -----------------------------------------------------------------------------


def tokenize_words(batch: Dict[str, list], tokenizer) -> Dict[str, list]:
    """Sub-word ids and the word each comes from, per sentence, without special tokens.

    A word the tokenizer turns into nothing (a lone zero-width space, a control character) is replaced by the
    unknown token, so it still gets a prediction.
    """
    words_batch = batch["tokens"]
    # verbose=False: lengths beyond the model's limit are expected here, windows come later.
    encoding = tokenizer(words_batch, is_split_into_words=True, add_special_tokens=False, verbose=False)
    piece_ids, piece_words = [], []
    for row, words in enumerate(words_batch):
        ids, word_ids = encoding["input_ids"][row], encoding.word_ids(row)
        if len(set(word_ids)) != len(words):
            ids, word_ids = _tokenize_with_unknowns(words, tokenizer, set(word_ids))
        piece_ids.append(ids)
        piece_words.append(word_ids)
    return {"piece_ids": piece_ids, "piece_words": piece_words}


def _tokenize_with_unknowns(words: Sequence[str], tokenizer, seen) -> Tuple[List[int], List[int]]:
    patched = [word if index in seen else (tokenizer.unk_token or "[UNK]") for index, word in enumerate(words)]
    encoding = tokenizer(patched, is_split_into_words=True, add_special_tokens=False, verbose=False)
    return encoding["input_ids"], encoding.word_ids()


def tokenize_dataset(dataset, tokenizer, num_proc: Optional[int] = None, load_from_cache_file: bool = True, desc=None,
                     cache_dir: Optional[str] = None, uncached: bool = False):
    """Pass 1 over a whole split (see :func:`tokenize_words`), cached (see :func:`cache_file_for`).

    ``uncached``: for data seen once (``NerTagger``), no cache file and a random fingerprint, so that ``datasets``
    does not hash the tokenizer twice per call (``predict_ner.py`` reads its input in chunks).
    """
    from datasets.fingerprint import generate_random_fingerprint

    return dataset.map(
        tokenize_words,
        batched=True,
        fn_kwargs={"tokenizer": tokenizer},
        num_proc=num_proc,
        load_from_cache_file=load_from_cache_file and not uncached,
        cache_file_name=None if uncached else cache_file_for(dataset, cache_dir, "tokens", tokenizer),
        new_fingerprint=generate_random_fingerprint() if uncached else None,
        desc=desc or "Tokenising words",
    )


def cache_file_for(dataset, cache_dir: Optional[str], step: str, *inputs) -> Optional[str]:
    """Where ``datasets`` should keep the result of ``step`` on ``dataset``; None: caching is off.

    ``datasets`` would cache a ``map`` next to the dataset's own Arrow files (an in-memory split has none, and
    caches nothing), named by fingerprints of the data, the function and its arguments. This names the cache
    file by the data's fingerprint (which for a split read from a file depends on the file, see
    :mod:`nerkit.arrow_splits`; for one in memory, on its content), the step and its inputs (the tokenizer), in
    ``cache_dir`` (default: the folder of the dataset's own cache, else the ``datasets`` cache): a change to the
    step's code bumps ``CACHE_VERSION``. The next pass reads a dataset with a cache file, which ``datasets``
    then caches by itself.
    """
    import datasets
    from datasets.fingerprint import Hasher

    if not datasets.is_caching_enabled():
        return None
    if cache_dir is None and dataset.cache_files:
        folder = os.path.dirname(dataset.cache_files[0]["filename"])
    else:
        folder = os.path.join(cache_dir or datasets.config.HF_DATASETS_CACHE, "nerkit")
    os.makedirs(folder, exist_ok=True)
    key = Hasher.hash([dataset._fingerprint, step, CACHE_VERSION, *inputs])
    return os.path.join(folder, f"{step}-{key}.arrow")


def build_features(tokenized, tokenizer, label2id: Optional[Dict[str, int]], spec: FeatureSpec,
                   load_from_cache_file: bool = True, desc=None, document_batch_size: int = 1000):
    """Pass 2 over a whole split, a batch at a time (a pool of sentences packed apart, or about
    ``document_batch_size`` sentences ending on a document's end: :class:`nerkit.inputs.DocumentBatches`)."""
    check_window_spec(spec, tokenizer)
    prefix, suffix = special_tokens(tokenizer)
    arguments = {"label2id": label2id, "spec": spec, "prefix": prefix, "suffix": suffix}
    if spec.apart_pack_length is not None:
        # Sentences kept apart are packed within random pools (nerkit.packing.plan_packs): the rows are put in the
        # shuffled order once, and each batch is one pool, so no batch holds more than a pool of sentences and the
        # packs are the same as with the whole split in one batch.
        order = pack_order(len(tokenized), spec.pack_seed)
        tokenized = tokenized.select(order)
        arguments.update(spec=replace(spec, pack_seed=None), rows=order)
        function, batch_size = build_inputs, DEFAULT_PACK_POOL
    else:
        # Neighbours for context, documents packed together: batches that keep a document whole.
        function, batch_size = DocumentBatches(len(tokenized), **arguments), document_batch_size
        arguments = {}
    return tokenized.map(
        function,
        batched=True,
        batch_size=batch_size,
        with_indices=True,
        remove_columns=tokenized.column_names,
        fn_kwargs=arguments,
        load_from_cache_file=load_from_cache_file,
        desc=desc or "Building inputs",
    )


def count_windowed_sentences(features) -> int:
    """Sentences that became more than one input."""
    import numpy as np

    ids = np.concatenate([batch["sentence_id"] for batch in
                          features.select_columns(["sentence_id"]).with_format("numpy").iter(batch_size=100000)] or [[]])
    return int((np.unique(ids, return_counts=True)[1] > 1).sum())


def prepare_features(raw_datasets, tokenizer, label2id: Dict[str, int], data_args, layout: InputLayout,
                     main_process_first=None, cache_dir: Optional[str] = None, seed: Optional[int] = None):
    """Both passes over every split of ``raw_datasets``, as both training scripts run them, for ``layout``
    (:func:`nerkit.modeling.load_for_token_classification` decides it with the model). ``seed``: the training
    seed, which also draws the sentences packed together.

    ``main_process_first(desc=...)`` is the Trainer's context manager (or a wrapper of the Accelerator's), so in a
    multi-process run rank 0 fills the ``datasets`` cache and the others read it.
    """
    spec = FeatureSpec.for_layout(layout, data_args.label_all_tokens, seed or 0)
    use_cache = not data_args.overwrite_cache
    features = {}
    for split, raw in raw_datasets.items():
        guard = main_process_first(desc=f"{split} features") if main_process_first else contextlib.nullcontext()
        with guard:
            tokenized = tokenize_dataset(raw, tokenizer, data_args.preprocessing_num_workers, use_cache,
                                         f"Tokenising {split}", cache_dir)
            features[split] = build_features(tokenized, tokenizer, label2id, spec, use_cache,
                                             f"Building {split} inputs")
        logger.info(f"{split}: {len(raw)} sentences -> {len(features[split])} inputs; "
                    f"{count_windowed_sentences(features[split])} sentences longer than {spec.max_seq_length} "
                    "sub-words were windowed")
    return features

"""nerkit: the shared data, scheme, feature, metric and decoding code behind the NER scripts.

One job per module:

- ``corpus``: the ``Sentence`` every module passes around;
- ``files``: safe reading and atomic writing;
- ``errors``: the user-fixable error type and the CLI boundary;
- ``schemes``: IOB1 / IOB2 / BIOES detection, conversion and repair; plain labels (POS tags) without spans;
- ``words``: the offset-keeping word tokeniser and sentence splitter used for raw text;
- ``formats``: readers and writers for every file format;
- ``stats``: corpus statistics and class weights;
- ``data``: building a ``datasets.DatasetDict`` from files, folders or the hub;
- ``features``: sub-word tokenisation, label alignment, windows, document context and packing;
- ``batching``: batches cut by a sub-word budget (training) and length-sorted batches (evaluation);
- ``decoding``: windows merged back into one tag per word, argmax or constrained Viterbi;
- ``metrics``: seqeval scores and reports, offline (per word for plain labels);
- ``arguments``: the argument dataclasses both training scripts share;
- ``predictions``: writing word-aligned predictions;
- ``script_setup``: what both training scripts do first (arguments, logging, launch check);
- ``trainer``, ``loop``, ``loop_setup``, ``loop_arguments``, ``interrupts``: what the Trainer and the Accelerate
  loop need beyond the libraries;
- ``inference``, ``reports``: raw-text prediction; plots, confusion table and model card after training;
- ``throughput``, ``runtime``: ``performance.json`` (tokens/s, words/s, peak memory); kernel-cache settings.
"""

__version__ = "0.1.0"

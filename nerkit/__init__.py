"""nerkit: the shared data, scheme, feature, metric and decoding code behind the NER scripts.

One job per module (the README's "How the code fits together" shows them in the order data flows):

- ``corpus``: the ``Sentence`` every module passes around;
- ``files``, ``outputs``: safe reading and atomic writing; output folders and checkpoints;
- ``errors``: the user-fixable error type and the CLI boundary;
- ``schemes``: IOB1 / IOB2 / BIOES detection, conversion and repair rules; plain labels (POS tags) without spans;
- ``labels``: tag checks and their messages, validation and repair of a corpus, the label list, class weights;
- ``words``: the offset-keeping word tokeniser and sentence splitter used for raw text;
- ``formats``: readers and writers for every file format;
- ``stats``: corpus statistics;
- ``data``: building a ``datasets.DatasetDict`` from files, folders or the hub;
- ``modeling``, ``layout``: loading config, tokenizer and model; the input layout decided with the model;
- ``features``, ``inputs``, ``packing``: tokenising once; model inputs (windows, document context, packing);
- ``batching``: batches cut by a sub-word budget (training) and length-sorted batches (evaluation);
- ``decoding``, ``evaluation``, ``metrics``: one tag per word; seqeval scores and reports, offline;
- ``relaxed_metrics``: SemEval-2013 exact / partial / type scores (nervaluate) and scores per document;
- ``arguments``, ``script_setup``: the argument dataclasses and start-up both training scripts share;
- ``trainer``, ``loop``, ``loop_setup``, ``loop_arguments``, ``losses``, ``interrupts``: what the Trainer and the
  Accelerate loop need beyond the libraries;
- ``inference``: raw text or word files in, predictions out (documents, reading, tagger, devices, writing);
- ``reports``: confusion table, plots and model card after training;
- ``throughput``, ``runtime``: ``performance.json`` (tokens/s, words/s, peak memory); process settings.
"""

__version__ = "0.1.0"

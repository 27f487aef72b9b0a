#!/usr/bin/env python
"""Fine-tune a transformer for named-entity recognition (token classification) with the Trainer.

Upstream ``run_ner.py``'s arguments and outputs, plus: every file format of ``nerkit.formats`` read
directly, tagging schemes detected and repaired, long sentences windowed instead of truncated (every word
gets one prediction), optional document context, constrained decoding and class weights, and word-aligned
prediction files. ``run_ner_no_trainer.py`` does the same with a plain Accelerate loop, through the same
``nerkit`` code.

    python run_ner.py --model_name_or_path MODEL --train_file train.conll --validation_file dev.conll \
        --test_file test.conll --output_dir out --do_train --do_eval --do_predict
"""

import logging
import sys

from transformers import TrainingArguments, set_seed

from nerkit.arrow_splits import iter_column
from nerkit.batching import evaluation_budget, input_lengths, model_inputs, token_collator, training_budget
from nerkit.data import load_requested_splits
from nerkit.errors import exit_on_user_error
from nerkit.evaluation import WordLevelEvaluator, save_results, save_split_outputs
from nerkit.features import prepare_features
from nerkit.labels import loss_weights_for
from nerkit.modeling import load_for_token_classification
from nerkit.outputs import prepare_output_dir
from nerkit.reports import RunFacts, report_training_run
from nerkit.runtime import use_cpu_bf16
from nerkit.script_setup import check_launch, parse_script_arguments, setup_logging
from nerkit.throughput import PerformanceLog, TokenCounter
from nerkit.time_budget import requested_budget
from nerkit.trainer import NerTrainer

logger = logging.getLogger(__name__)


@exit_on_user_error
def main(argv=None):
    # ---- Arguments -----------------------------------------------------------------------------------------
    model_args, data_args, training_args = parse_script_arguments(TrainingArguments, argv)
    setup_logging(logger, training_args.get_process_log_level())
    if use_cpu_bf16(model_args.cpu_bf16, training_args.device.type == "cpu",
                    training_args.fp16 or training_args.bf16 or training_args.mixed_precision != "no"):
        training_args.bf16, training_args.mixed_precision = True, "bf16"  # what --bf16 --use_cpu would have set
    logger.info(f"Rank {training_args.process_index} of {training_args.world_size}, device {training_args.device}, "
                f"mixed precision {training_args.mixed_precision}")
    check_launch(training_args.world_size)

    resume_from = prepare_output_dir(training_args.output_dir, data_args.overwrite_output_dir,
                                     training_args.do_train, training_args.resume_from_checkpoint)
    time_budget = requested_budget(data_args.time_budget, resume_from is not None, training_args.lr_scheduler_type)
    set_seed(training_args.seed)
    performance = PerformanceLog()  # timings, tokens/s and peak memory -> output_dir/performance.json

    # ---- Data: any format, scheme detected, IOB2 inside ----------------------------------------------------
    with performance.timed("load_data"):
        loaded = load_requested_splits(data_args, model_args, training_args.do_train, training_args.do_eval,
                                       training_args.do_predict)
        raw_datasets = loaded.to_dataset_dict()
    logger.info(f"Input tagging scheme: {loaded.input_scheme}; splits: "
                + ", ".join(f"{name} {len(ds)} sentences" for name, ds in raw_datasets.items()))

    # ---- Labels, config, tokenizer, model ------------------------------------------------------------------
    # The layout (windows, packing, context, case feature) is decided with the model and recorded in its config.
    label_list, config, tokenizer, model, layout = load_for_token_classification(
        model_args, data_args, raw_datasets, training_args.do_train, loaded.label_names
    )
    label2id = {label: index for index, label in enumerate(label_list)}
    id2label = dict(enumerate(label_list))

    # ---- Features: tokenised once, windows for long sentences, optional document context -------------------
    with performance.timed("preprocess"):
        data_seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
        features = prepare_features(raw_datasets, tokenizer, label2id, data_args, layout,
                                    training_args.main_process_first, cache_dir=model_args.cache_dir, seed=data_seed)

    collator = token_collator(tokenizer, data_args.pad_to_max_length, layout.max_seq_length,
                              (training_args.fp16 or training_args.bf16) and training_args.device.type == "cuda")
    evaluators = {
        split: WordLevelEvaluator(features[split], raw_datasets[split], id2label, data_args.constrained_decoding,
                                  data_args.strict, data_args.return_entity_level_metrics)
        for split in ("validation", "test") if split in features
    }
    weights = loss_weights_for(data_args.class_weights, label_list,
                               iter_column(raw_datasets["train"], "ner_tags") if "train" in raw_datasets else None)

    budget = (training_budget(data_args.max_tokens_per_batch, input_lengths(features["train"]),
                              training_args.per_device_train_batch_size, len(raw_datasets["train"]), layout.apart_pack_length)
              if "train" in features else None)
    if budget and str(training_args.train_sampling_strategy) != "random":
        logger.warning(f"--train_sampling_strategy {training_args.train_sampling_strategy} is not used: training batches "
                       f"are cut by --max_tokens_per_batch ({budget} sub-words); pass --max_tokens_per_batch 0 to use it")
    inputs = {split: model_inputs(dataset) for split, dataset in features.items()}  # the evaluators keep features
    trainer = NerTrainer(
        model=model,
        args=training_args,
        train_dataset=inputs.get("train"),
        eval_dataset=inputs.get("validation"),
        processing_class=tokenizer,
        data_collator=collator,
        evaluator=evaluators.get("validation"),  # scores in input order, in place of compute_metrics
        class_weights=weights,
        save_on_interrupt=data_args.save_on_interrupt,
        max_tokens_per_batch=budget,
        eval_max_tokens_per_batch=evaluation_budget(data_args.eval_max_tokens_per_batch),
        layerwise_lr_decay=data_args.layerwise_lr_decay,
        time_budget=time_budget,
    )

    # ---- Train ----------------------------------------------------------------------------------------------
    if training_args.do_train:
        counter = TokenCounter(tokenizer.pad_token_id).attach(model)
        train_result = trainer.train(resume_from_checkpoint=resume_from)
        counter.detach()
        performance.training(counter, train_result.metrics["train_runtime"])
        trainer.save_model()  # safetensors, config with id2label/label2id, tokenizer
        metrics = dict(train_result.metrics, train_samples=len(raw_datasets["train"]), train_inputs=len(features["train"]))
        if trainer.time_budget is not None:
            metrics.update(trainer.time_budget.metrics())
        trainer.log_metrics("train", metrics)
        if trainer.is_world_process_zero():
            save_results(training_args.output_dir, "train", metrics)
            trainer.save_state()

    # ---- Evaluate and predict -------------------------------------------------------------------------------
    for split, prefix in (("validation", "eval"), ("test", "predict")):
        if split not in evaluators:
            continue
        logger.info(f"*** {prefix} ***")
        trainer.evaluator = evaluators[split]
        output = trainer.predict(inputs[split], metric_key_prefix=prefix)
        metrics = dict(output.metrics, **{f"{prefix}_samples": len(raw_datasets[split])})
        trainer.log_metrics(prefix, metrics)
        performance.inference(prefix, sum(evaluators[split].lengths), output.metrics[f"{prefix}_runtime"])
        if trainer.is_world_process_zero():
            save_split_outputs(training_args.output_dir, prefix, evaluators[split], metrics, loaded.input_scheme,
                               write_predictions=prefix == "predict", log_history=trainer.state.log_history)
            print(f"\n{prefix} report ({split}, {sum(evaluators[split].lengths)} words):\n{evaluators[split].report()}")

    # ---- What a person looks at: curves, per-type bars, confusion table, model card ----------------------
    if trainer.is_world_process_zero():
        facts = RunFacts.from_arguments(script=__file__, argv=sys.argv[1:] if argv is None else argv, model_args=model_args,
                                        data_args=layout.arguments_as_used(data_args), training_args=training_args,
                                        raw_datasets=raw_datasets, label_list=label_list, input_scheme=loaded.input_scheme)
        report_training_run(training_args.output_dir, trainer.state.log_history, evaluators, facts)
        performance.save(training_args.output_dir)


if __name__ == "__main__":
    main()

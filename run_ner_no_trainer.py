#!/usr/bin/env python
"""Fine-tune a transformer for named-entity recognition with a plain training loop on Accelerate.

The loop is here, top to bottom, for users who want to change it: arguments, data, model, train, evaluate,
predict. Its bookkeeping (running loss, checkpoints, early stopping, evaluation) is in ``nerkit/loop.py``, what
it is built from (Accelerator, dataloaders, optimizer, schedule) in ``nerkit/loop_setup.py``. Everything else
is ``run_ner.py``'s own code from ``nerkit``: the same files in any format, the same features (windows,
document context), the same per-word metrics and decoding, the same result, report and prediction files.
Evaluating the same model, both scripts report the same metrics and write byte-identical prediction files.

    python run_ner_no_trainer.py --model_name_or_path MODEL --train_file train.conll \
        --validation_file dev.conll --test_file test.conll --output_dir out
    torchrun --nproc_per_node 2 run_ner_no_trainer.py ...                   # no GPU: 2 CPU processes (gloo)
    accelerate launch --multi_gpu --num_processes 8 run_ner_no_trainer.py ...  # 8 GPUs

Upstream ``run_ner_no_trainer.py``'s arguments keep their names and meanings. With none of
``--do_train/--do_eval/--do_predict`` it does what upstream does: train if there is a train split, evaluate
if there is a validation split, and (beyond upstream) predict if there is a test split. The validation split
is evaluated after every epoch (``--early_stopping_patience N`` stops after N evaluations without a better
F1; the model saved is the last one, not the best).

``--checkpointing_steps N|epoch`` saves ``step_N``/``epoch_N`` folders; ``--resume_from_checkpoint [PATH]``
(the latest one when no path is given) continues exactly where the checkpoint was taken, mid-epoch included:
same weights, optimizer, schedule, RNG and batches, so the result equals an uninterrupted run's.

Gradient accumulation: each micro-batch's loss is the mean over its labelled word-pieces (upstream's choice);
the Trainer divides by the labelled word-pieces of the whole accumulated batch instead. Both are the same with
no accumulation on one process. Evaluation loss is the mean over every labelled word-piece of the split, exact
whatever the batching (the Trainer averages batch means, the same number when the split is one batch).
"""

import logging
import sys
import time

import torch
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from nerkit.arrow_splits import iter_column
from nerkit.batching import evaluation_budget, input_lengths, token_collator, training_budget
from nerkit.errors import SetupError, exit_on_user_error
from nerkit.evaluation import WordLevelEvaluator, save_results, save_split_outputs
from nerkit.features import prepare_features
from nerkit.interrupts import SaveOnInterruptContext, stopped_after_interrupt
from nerkit.labels import loss_weights_for
from nerkit.loop import LoopState, TrainingProgress, evaluate, load_checkpoint, resolve_checkpoint, scalar_metrics
from nerkit.loop_arguments import LoopArguments
from nerkit.loop_setup import (
    TrainingSchedule,
    create_accelerator,
    create_optimizer,
    load_loop_data,
    make_dataloaders,
    push_to_hub,
    tracker_config,
)
from nerkit.losses import token_classification_loss
from nerkit.modeling import load_for_token_classification
from nerkit.outputs import prepare_output_dir
from nerkit.reports import RunFacts, report_training_run
from nerkit.script_setup import check_launch, parse_script_arguments, setup_logging
from nerkit.standard_loading import write_standard_loading
from nerkit.throughput import PerformanceLog, TokenCounter
from nerkit.time_budget import requested_budget

logger = logging.getLogger(__name__)


@exit_on_user_error
def main(argv=None):
    # ---- Arguments -----------------------------------------------------------------------------------------
    model_args, data_args, args = parse_script_arguments(LoopArguments, argv)
    if not args.output_dir:
        raise SetupError("--output_dir is required")

    # ---- Accelerator: processes, devices, mixed precision, gradient accumulation, trackers -----------------
    accelerator = create_accelerator(args, model_args.cpu_bf16)
    main_process = accelerator.is_local_main_process  # logs; the others only warn
    setup_logging(logger, logging.INFO if main_process else logging.WARNING,
                  library_level=logging.WARNING if main_process else logging.ERROR)
    logger.info(f"{accelerator.num_processes} process(es), {accelerator.distributed_type}, "
                f"device {accelerator.device}, mixed precision {accelerator.mixed_precision}")
    check_launch(accelerator.num_processes, str(accelerator.distributed_type))

    resume_from = resolve_checkpoint(args.resume_from_checkpoint, args.output_dir)
    # Checkpoints here are step_N/epoch_N folders, resolved above; a non-empty folder needs one or --overwrite.
    prepare_output_dir(args.output_dir, data_args.overwrite_output_dir, False, resume_from)
    accelerator.wait_for_everyone()  # every process has checked the folder before the main one writes to it
    time_budget = requested_budget(data_args.time_budget, resume_from is not None, args.lr_scheduler_type)
    set_seed(args.seed)
    performance = PerformanceLog()  # timings, tokens/s and peak memory -> output_dir/performance.json

    # ---- Data: any format, scheme detected, IOB2 inside ----------------------------------------------------
    with performance.timed("load_data"):
        loaded = load_loop_data(args, data_args, model_args, resume_from)
        raw_datasets = loaded.to_dataset_dict()
    logger.info(f"Input tagging scheme: {loaded.input_scheme}; splits: "
                + ", ".join(f"{name} {len(ds)} sentences" for name, ds in raw_datasets.items()))

    # ---- Labels, config, tokenizer, model ------------------------------------------------------------------
    # The layout (windows, packing, context, case feature) is decided with the model and recorded in its config.
    label_list, config, tokenizer, model, layout = load_for_token_classification(model_args, data_args, raw_datasets,
                                                                                 args.do_train, loaded.label_names)
    label2id = {label: index for index, label in enumerate(label_list)}
    id2label = dict(enumerate(label_list))
    if args.model_type and args.model_type != config.model_type:
        logger.warning(f"--model_type {args.model_type} ignored: the model loaded is a {config.model_type}")

    # ---- Features: tokenised once, windows for long sentences, optional document context -------------------
    with performance.timed("preprocess"):
        features = prepare_features(raw_datasets, tokenizer, label2id, data_args, layout,
                                    lambda desc: accelerator.main_process_first(), cache_dir=model_args.cache_dir,
                                    seed=args.seed)

    collator = token_collator(tokenizer, data_args.pad_to_max_length, layout.max_seq_length,
                              accelerator.mixed_precision in ("fp16", "bf16") and accelerator.device.type == "cuda")
    evaluators = {
        split: WordLevelEvaluator(features[split], raw_datasets[split], id2label, data_args.constrained_decoding,
                                  data_args.strict, data_args.return_entity_level_metrics)
        for split in ("validation", "test") if split in features
    }
    lengths = {split: input_lengths(features[split]) for split in features}
    weights = loss_weights_for(data_args.class_weights, label_list,
                               iter_column(raw_datasets["train"], "ner_tags") if "train" in raw_datasets else None)
    weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)

    # Batches: by sub-word budget (training), length-sorted (evaluation, one process), else upstream's.
    budget = training_budget(data_args.max_tokens_per_batch, lengths["train"], args.per_device_train_batch_size,
                             len(raw_datasets["train"]), layout.apart_pack_length) if "train" in features else None
    eval_budget = evaluation_budget(data_args.eval_max_tokens_per_batch) if accelerator.num_processes == 1 else None
    dataloaders = make_dataloaders(features, lengths, collator, args, budget, eval_budget)

    # ---- Optimizer and schedule, then Accelerate wraps everything ------------------------------------------
    optimizer = create_optimizer(model, args.learning_rate, args.weight_decay, data_args.layerwise_lr_decay)
    lr_scheduler = None
    if args.do_train:
        schedule = TrainingSchedule.plan(len(dataloaders["train"]), accelerator.num_processes,
                                         args.gradient_accumulation_steps, args.num_train_epochs, args.max_train_steps)
        lr_scheduler = schedule.scheduler(optimizer, args, accelerator.num_processes, time_budget)
    model, optimizer, lr_scheduler, *prepared = accelerator.prepare(model, optimizer, lr_scheduler,
                                                                    *dataloaders.values())
    dataloaders = dict(zip(dataloaders, prepared))

    if args.with_tracking:
        accelerator.init_trackers("run_ner_no_trainer", tracker_config(model_args, layout.arguments_as_used(data_args), args))

    # ---- Train ----------------------------------------------------------------------------------------------
    state = LoopState()  # where the loop is; saved in every checkpoint
    last_evaluation = None  # (optimizer steps, metrics) of the last validation run, reused at the end
    if args.do_train:
        train_dataloader = dataloaders["train"]
        if len(train_dataloader) != schedule.batches_per_epoch:
            raise RuntimeError(f"{len(train_dataloader)} batches a process, {schedule.batches_per_epoch} expected")

        if resume_from:
            state = load_checkpoint(accelerator, resume_from)  # weights, optimizer, schedule, RNG, where the loop was

        # Running loss, logging, checkpoints and early stopping; the loop below only trains.
        progress = TrainingProgress(accelerator, state, args, schedule, time_budget)
        progress.log_plan(len(features["train"]), len(raw_datasets["train"]))
        progress_bar = tqdm(range(schedule.max_train_steps), initial=state.completed_steps,
                            disable=not accelerator.is_local_main_process)
        counter = TokenCounter(tokenizer.pad_token_id).attach(model)
        start_time, start_steps = time.time(), state.completed_steps
        if time_budget is not None:
            time_budget.start()
        with SaveOnInterruptContext(data_args.save_on_interrupt) as interrupt:
            for epoch in range(state.epoch, schedule.num_train_epochs):
                if progress.training_done() or progress.should_stop_early():
                    break
                model.train()
                train_dataloader.set_epoch(epoch)
                if epoch == state.epoch and state.step_in_epoch:
                    # Resuming mid-epoch: the same shuffled order, without the batches already trained on.
                    active_dataloader = accelerator.skip_first_batches(train_dataloader, state.step_in_epoch)
                else:
                    active_dataloader = train_dataloader
                    state.epoch, state.step_in_epoch = epoch, 0

                for batch in active_dataloader:
                    if progress.training_done():
                        break
                    # Inside accumulate(), gradients are synchronised and the optimizer steps only on the last
                    # micro-batch of each accumulation (or of the epoch): accelerator.sync_gradients.
                    with accelerator.accumulate(model):
                        labels = batch.pop("labels")
                        logits = model(**batch).logits
                        loss = token_classification_loss(logits, labels, weights, label_smoothing=args.label_smoothing_factor)
                        accelerator.backward(loss)
                        if accelerator.sync_gradients:
                            if args.max_grad_norm:
                                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                            optimizer.step()
                            step_rate = lr_scheduler.get_last_lr()[0]  # logged as the Trainer does: the rate used
                            lr_scheduler.step()
                            optimizer.zero_grad()
                    progress.micro_batch_done(loss)
                    if not accelerator.sync_gradients:
                        continue

                    progress_bar.update(1)
                    # Logs every --logging_steps, saves every --checkpointing_steps or after a Ctrl-C (then stop).
                    checkpoint = progress.optimizer_step_done(step_rate, stop_requested=interrupt.requested(accelerator))
                    if checkpoint:
                        progress_bar.close()
                        raise stopped_after_interrupt(state.completed_steps, checkpoint, "--resume_from_checkpoint")

                # ---- Evaluate after every epoch: metrics, tracking, early stopping -----------------------------
                if "validation" in dataloaders:
                    metrics = evaluate(accelerator, model, dataloaders["validation"], evaluators["validation"],
                                       lengths["validation"], weights, "eval")
                    last_evaluation = (state.completed_steps, metrics)
                    progress.evaluation_done(metrics, epoch)
                progress.epoch_done(epoch)  # saves epoch_N under --checkpointing_steps epoch
        progress_bar.close()
        progress.finish()
        train_runtime = time.time() - start_time
        counter.detach()
        performance.training(counter, train_runtime)

        accelerator.wait_for_everyone()
        accelerator.unwrap_model(model).save_pretrained(  # safetensors, config with id2label/label2id
            args.output_dir, is_main_process=accelerator.is_main_process, save_function=accelerator.save,
            state_dict=accelerator.get_state_dict(model),
        )
        metrics = progress.training_metrics(train_runtime, start_steps, train_samples=len(raw_datasets["train"]),
                                            train_inputs=len(features["train"]))
        if time_budget is not None:
            metrics.update(time_budget.metrics())
        if accelerator.is_main_process:
            tokenizer.save_pretrained(args.output_dir)
            write_standard_loading(args.output_dir)  # the case feature under transformers' standard loading
            save_results(args.output_dir, "train", metrics)
        logger.info(f"train metrics: {metrics}")

    # ---- Evaluate and predict -------------------------------------------------------------------------------
    for split, prefix in (("validation", "eval"), ("test", "predict")):
        if split not in evaluators:
            continue
        logger.info(f"*** {prefix} ***")
        if split == "validation" and last_evaluation and last_evaluation[0] == state.completed_steps:
            metrics = last_evaluation[1]  # this very model was just evaluated after its last epoch
        else:
            metrics = evaluate(accelerator, model, dataloaders[split], evaluators[split], lengths[split],
                               weights, prefix)
        metrics[f"{prefix}_samples"] = len(raw_datasets[split])
        performance.inference(prefix, sum(evaluators[split].lengths), metrics[f"{prefix}_runtime"])
        if args.with_tracking:
            accelerator.log(scalar_metrics(metrics, prefix), step=state.completed_steps)
        if accelerator.is_main_process:
            save_split_outputs(args.output_dir, prefix, evaluators[split], metrics, loaded.input_scheme,
                               write_predictions=prefix == "predict", log_history=state.log_history)
            print(f"\n{prefix} report ({split}, {sum(evaluators[split].lengths)} words):\n{evaluators[split].report()}")

    # ---- What a person looks at: curves, per-type bars, confusion table, model card ----------------------
    if accelerator.is_main_process:
        facts = RunFacts.from_arguments(script=__file__, argv=sys.argv[1:] if argv is None else argv, model_args=model_args,
                                        data_args=layout.arguments_as_used(data_args), training_args=args,
                                        raw_datasets=raw_datasets, label_list=label_list, input_scheme=loaded.input_scheme)
        report_training_run(args.output_dir, state.log_history, evaluators, facts)
        performance.save(args.output_dir)

    # ---- Hub ------------------------------------------------------------------------------------------------
    if args.push_to_hub and args.do_train and accelerator.is_main_process:
        push_to_hub(args.output_dir, args.hub_model_id, args.hub_token)
    accelerator.end_training()  # closes trackers and the process group


if __name__ == "__main__":
    main()

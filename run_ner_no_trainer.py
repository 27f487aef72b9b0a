#!/usr/bin/env python
"""Fine-tune a transformer for named-entity recognition with a plain training loop on Accelerate.

The loop is here, top to bottom, for users who want to change it: arguments, data, model, train, evaluate,
predict. Everything else is ``run_ner.py``'s own code from ``nerkit``: the same files in any format, the same
features (windows, document context), the same per-word metrics and decoding, the same result, report and
prediction files. Evaluating the same model, both scripts report the same metrics and write byte-identical
prediction files.

    python run_ner_no_trainer.py --model_name_or_path MODEL --train_file train.conll \
        --validation_file dev.conll --test_file test.conll --output_dir out
    torchrun --nproc_per_node 2 run_ner_no_trainer.py --use_cpu ...         # 2 CPU processes (gloo)
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
import math
import os
import sys
import time
from pathlib import Path

import datasets
import torch
import transformers
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import HfArgumentParser, get_scheduler
from transformers.trainer_pt_utils import get_parameter_names

from nerkit.arguments import DataTrainingArguments, ModelArguments, parse_arguments
from nerkit.batching import (
    LengthSortedBatchSampler,
    TokenBudgetBatchSampler,
    evaluation_budget,
    input_lengths,
    restore_order,
    token_collator,
    training_budget,
)
from nerkit.data import load_data, load_requested_splits
from nerkit.errors import NerDataError, exit_on_user_error
from nerkit.evaluation import WordLevelEvaluator, save_results, save_split_outputs
from nerkit.features import prepare_features
from nerkit.labels import class_weights
from nerkit.losses import token_classification_loss
from nerkit.loop import (
    LoopArguments,
    LoopState,
    SaveOnInterrupt,
    check_launch,
    per_input_loss,
    resolve_checkpoint,
    save_checkpoint,
    scalar_metrics,
    tracker_config,
)
from nerkit.modeling import load_for_token_classification
from nerkit.outputs import prepare_output_dir
from nerkit.reports import report_training_run
from nerkit.runtime import keep_freed_memory, limit_kernel_caches, runs_on_cpu, use_cpu_bf16
from nerkit.throughput import PerformanceLog, TokenCounter

logger = logging.getLogger(__name__)


def evaluate(accelerator, model, dataloader, evaluator, lengths, weights, prefix):
    """Score one split: every process runs its shard, logits are gathered in input order and scored per word.

    With one process the batches are length-sorted; ``order`` (the batch sampler's) puts the logits back.
    """
    start = time.time()
    model.eval()
    order = getattr(dataloader.batch_sampler, "order", None)
    logits_per_input, loss_sum, loss_weight = [], 0.0, 0.0
    for batch in dataloader:
        labels = batch.pop("labels")
        with torch.inference_mode():
            logits = model(**batch).logits
        sums, counts = per_input_loss(logits, labels, weights)
        # Each process pads its batch to its own longest input: pad to a common length before gathering.
        logits = accelerator.pad_across_processes(logits.float(), dim=1, pad_index=0)
        # gather_for_metrics drops the inputs repeated to give every process a full last batch.
        logits, sums, counts = accelerator.gather_for_metrics((logits, sums, counts))
        for row in logits.cpu().numpy():
            position = len(logits_per_input)
            logits_per_input.append(row[: lengths[order[position] if order else position]])
        loss_sum += sums.cpu().double().sum().item()
        loss_weight += counts.cpu().double().sum().item()
    if len(logits_per_input) != len(lengths):
        raise RuntimeError(f"gathered {len(logits_per_input)} inputs for a split of {len(lengths)}")
    if order:
        logits_per_input = restore_order(logits_per_input, order)
    runtime = time.time() - start
    metrics = {f"{prefix}_{name}": value for name, value in evaluator(logits_per_input).items()}
    metrics[f"{prefix}_loss"] = loss_sum / loss_weight if loss_weight else 0.0
    metrics[f"{prefix}_runtime"] = round(runtime, 4)
    metrics[f"{prefix}_samples_per_second"] = round(len(lengths) / runtime, 3)
    metrics[f"{prefix}_steps_per_second"] = round(len(dataloader) / runtime, 3)
    return metrics


@exit_on_user_error
def main(argv=None):
    # ---- Arguments -----------------------------------------------------------------------------------------
    limit_kernel_caches()  # before the first kernel runs: see nerkit/runtime.py
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, LoopArguments))
    model_args, data_args, args = parse_arguments(parser, argv)
    if model_args.keep_freed_memory:
        keep_freed_memory()  # before the first batch: see nerkit/runtime.py
    if not args.output_dir:
        raise NerDataError("--output_dir is required")

    # ---- Accelerator: processes, devices, mixed precision, gradient accumulation, trackers -----------------
    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh state for every main() call, as the Trainer
    GradientState._reset_state()
    mixed_precision = args.mixed_precision
    if use_cpu_bf16(model_args.cpu_bf16, runs_on_cpu(args.use_cpu),
                    mixed_precision is not None or "ACCELERATE_MIXED_PRECISION" in os.environ):
        mixed_precision = "bf16"
    try:
        accelerator = Accelerator(
            cpu=args.use_cpu,
            mixed_precision=mixed_precision,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            log_with=args.report_to if args.with_tracking else None,
            project_config=ProjectConfiguration(project_dir=args.output_dir,
                                                logging_dir=os.path.join(args.output_dir, "runs")),
            # The shuffling order is a function of (seed, epoch) alone, so a resumed run sees the same batches.
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=args.seed),
        )
    except ValueError as error:  # e.g. fp16 where the device has none
        raise NerDataError(str(error).splitlines()[0]) from None

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = logging.INFO if accelerator.is_local_main_process else logging.WARNING
    logger.setLevel(log_level)
    logging.getLogger("nerkit").setLevel(log_level)
    datasets.utils.logging.set_verbosity(logging.WARNING if accelerator.is_local_main_process else logging.ERROR)
    transformers.utils.logging.set_verbosity(logging.WARNING if accelerator.is_local_main_process else logging.ERROR)
    logger.info(f"{accelerator.num_processes} process(es), {accelerator.distributed_type}, device {accelerator.device}, "
                f"mixed precision {accelerator.mixed_precision}")
    check_launch(accelerator.num_processes, str(accelerator.distributed_type))

    resume_from = resolve_checkpoint(args.resume_from_checkpoint, args.output_dir)
    # Checkpoints here are step_N/epoch_N folders, resolved above; a non-empty folder needs one or --overwrite.
    prepare_output_dir(args.output_dir, data_args.overwrite_output_dir, False, resume_from)
    accelerator.wait_for_everyone()  # every process has checked the folder before the main one writes to it
    set_seed(args.seed)
    performance = PerformanceLog()  # timings, tokens/s and peak memory -> output_dir/performance.json

    # ---- Data: any format, scheme detected, IOB2 inside ----------------------------------------------------
    with performance.timed("load_data"):
        if args.debug:
            for name in ("max_train_samples", "max_eval_samples", "max_predict_samples"):
                setattr(data_args, name, min(getattr(data_args, name) or 100, 100))
        if args.do_train or args.do_eval or args.do_predict:
            loaded = load_requested_splits(data_args, model_args, args.do_train, args.do_eval, args.do_predict)
        else:  # upstream's behaviour: do whatever the given splits allow
            loaded = load_data(data_args, model_args)
            args.do_train, args.do_eval, args.do_predict = (split in loaded.splits for split in ("train", "validation", "test"))
        if resume_from and not args.do_train:
            raise NerDataError("--resume_from_checkpoint resumes training: it needs a train split")
        if args.early_stopping_patience and not (args.do_train and args.do_eval):
            raise NerDataError("--early_stopping_patience needs training and a validation split")
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
    weights = class_weights(data_args.class_weights, label_list,
                            raw_datasets["train"]["ner_tags"] if "train" in raw_datasets else None)
    weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)

    # Batches: by sub-word budget (training), length-sorted (evaluation, one process), else upstream's.
    budget = training_budget(data_args.max_tokens_per_batch, lengths["train"], args.per_device_train_batch_size,
                             len(raw_datasets["train"]), layout.apart_pack_length) if "train" in features else None
    eval_budget = evaluation_budget(data_args.eval_max_tokens_per_batch) if accelerator.num_processes == 1 else None
    batch_samplers = {}
    if budget:
        batch_samplers["train"] = TokenBudgetBatchSampler(lengths["train"], budget, seed=args.seed)
    for split in evaluators:
        if eval_budget:
            batch_samplers[split] = LengthSortedBatchSampler(lengths[split], eval_budget)
    # word_index, word_sentence and sentence_id tell decoding where words are; they are not model inputs.
    dataloaders = {
        split: DataLoader(
            features[split].remove_columns(["word_index", "sentence_id", "word_sentence"]),
            collate_fn=collator,
            # Its own generator: iterating a DataLoader then leaves the global RNG (dropout) untouched, which
            # exact resumption needs.
            generator=torch.Generator().manual_seed(args.seed),
            **({"batch_sampler": batch_samplers[split]} if split in batch_samplers else {
                "shuffle": split == "train",
                "batch_size": args.per_device_train_batch_size if split == "train" else args.per_device_eval_batch_size,
            }),
        )
        for split in features
    }

    # ---- Optimizer (no weight decay on biases and norms, as the Trainer), then Accelerate wraps everything --
    # fused=True is the Trainer's default (adamw_torch_fused): one kernel over all tensors. The per-tensor loop
    # of the default AdamW took 95 ms a step for MiniLM on 2 CPU cores, against 10 ms fused.
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm],
                                    [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]))
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if n in decay], "weight_decay": args.weight_decay},
            {"params": [p for n, p in model.named_parameters() if n not in decay], "weight_decay": 0.0},
        ],
        lr=args.learning_rate,
        fused=True,
    )
    # Optimizer steps per epoch: Accelerate gives each process ceil(batches / processes) of the batches.
    if args.do_train:
        batches_per_epoch = math.ceil(len(dataloaders["train"]) / accelerator.num_processes)
        updates_per_epoch = math.ceil(batches_per_epoch / args.gradient_accumulation_steps)
        max_train_steps = args.max_train_steps or args.num_train_epochs * updates_per_epoch
        num_train_epochs = math.ceil(max_train_steps / updates_per_epoch)
        # A prepared scheduler is stepped once per process at every optimizer step, hence the factors.
        lr_scheduler = get_scheduler(args.lr_scheduler_type, optimizer,
                                     num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
                                     num_training_steps=max_train_steps * accelerator.num_processes)
    else:
        lr_scheduler = None
    model, optimizer, lr_scheduler, *prepared = accelerator.prepare(model, optimizer, lr_scheduler, *dataloaders.values())
    dataloaders = dict(zip(dataloaders, prepared))

    if args.with_tracking:
        accelerator.init_trackers("run_ner_no_trainer", tracker_config(model_args, layout.arguments_as_used(data_args), args))

    # ---- Train ----------------------------------------------------------------------------------------------
    state = LoopState()  # where the loop is; saved in every checkpoint
    last_evaluation = None  # (optimizer steps, metrics) of the last validation run, reused at the end
    if args.do_train:
        train_dataloader = dataloaders["train"]
        if len(train_dataloader) != batches_per_epoch:
            raise RuntimeError(f"{len(train_dataloader)} batches a process, {batches_per_epoch} expected")

        if resume_from:
            accelerator.load_state(resume_from)  # model, optimizer, scheduler, scaler, RNG of every process
            state = LoopState.load(resume_from)
            logger.info(f"Resumed from {resume_from}: epoch {state.epoch}, {state.step_in_epoch} batches into it, "
                        f"{state.completed_steps} optimizer steps done")

        total_batch_size = args.per_device_train_batch_size * accelerator.num_processes * args.gradient_accumulation_steps
        logger.info("***** Running training *****")
        logger.info(f"  Num examples = {len(features['train'])} inputs from {len(raw_datasets['train'])} sentences")
        logger.info(f"  Num epochs = {num_train_epochs}")
        logger.info(f"  Instantaneous batch size per device = {args.per_device_train_batch_size}")
        logger.info(f"  Total train batch size (w. parallel, distributed & accumulation) = {total_batch_size}")
        logger.info(f"  Gradient accumulation steps = {args.gradient_accumulation_steps}")
        logger.info(f"  Total optimization steps = {max_train_steps}")

        def early_stop():
            patience = args.early_stopping_patience
            return patience is not None and state.evaluations_without_improvement >= patience

        progress_bar = tqdm(range(max_train_steps), initial=state.completed_steps,
                            disable=not accelerator.is_local_main_process)
        # The loss summed since the last log (a checkpoint keeps it, so a resumed run logs the same numbers).
        running_loss = torch.tensor(state.running_loss, device=accelerator.device)
        running_batches = state.running_batches

        def save_state(name):
            state.running_loss = accelerator.reduce(running_loss, reduction="mean").item()
            state.running_batches = running_batches
            return save_checkpoint(accelerator, state, args.output_dir, name)

        def log_running_loss():
            """Add the loss since the last call (mean over processes) to the state and the logs."""
            nonlocal running_batches
            summed = accelerator.reduce(running_loss, reduction="mean").item()
            state.train_loss_sum += summed
            state.train_batches += running_batches
            entry = {"step": state.completed_steps, "epoch": state.completed_steps / updates_per_epoch,
                     "loss": summed / running_batches, "learning_rate": lr_scheduler.get_last_lr()[0]}
            state.log_history.append(entry)
            if args.with_tracking:
                accelerator.log({f"train/{key}": value for key, value in entry.items() if key != "step"},
                                step=state.completed_steps)
            running_loss.zero_()
            running_batches = 0

        counter = TokenCounter(tokenizer.pad_token_id).attach(model)
        start_time, start_steps = time.time(), state.completed_steps
        with SaveOnInterrupt(data_args.save_on_interrupt) as interrupt:
            for epoch in range(state.epoch, num_train_epochs):
                if state.completed_steps >= max_train_steps or early_stop():
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
                    if state.completed_steps >= max_train_steps:
                        break
                    # Inside accumulate(), gradients are synchronised and the optimizer steps only on the last
                    # micro-batch of each accumulation (or of the epoch): accelerator.sync_gradients.
                    with accelerator.accumulate(model):
                        labels = batch.pop("labels")
                        logits = model(**batch).logits
                        loss = token_classification_loss(logits, labels, weights)
                        accelerator.backward(loss)
                        if accelerator.sync_gradients:
                            if args.max_grad_norm:
                                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                            optimizer.step()
                            lr_scheduler.step()
                            optimizer.zero_grad()
                    state.step_in_epoch += 1
                    running_loss += loss.detach().float()
                    running_batches += 1
                    if not accelerator.sync_gradients:
                        continue

                    state.completed_steps += 1
                    progress_bar.update(1)
                    save_now = (isinstance(args.checkpointing_steps, int)
                                and state.completed_steps % args.checkpointing_steps == 0)
                    stop_now = interrupt.requested(accelerator)  # --save_on_interrupt and a Ctrl-C
                    if state.completed_steps % args.logging_steps == 0:
                        log_running_loss()
                    if save_now or stop_now:
                        checkpoint = save_state(f"step_{state.completed_steps}")
                    if stop_now:
                        progress_bar.close()
                        raise KeyboardInterrupt(f"training stopped at step {state.completed_steps}; checkpoint saved in "
                                                f"{checkpoint}; run again with --resume_from_checkpoint to continue")

                # ---- Evaluate after every epoch: metrics, tracking, early stopping -----------------------------
                if "validation" in dataloaders:
                    metrics = evaluate(accelerator, model, dataloaders["validation"], evaluators["validation"],
                                       lengths["validation"], weights, "eval")
                    last_evaluation = (state.completed_steps, metrics)
                    state.log_history.append({"step": state.completed_steps, "epoch": epoch + 1,
                                              **scalar_metrics(metrics, "eval", separator="_")})
                    best = state.record_evaluation(metrics["eval_f1"])
                    logger.info(f"epoch {epoch}: eval f1 {metrics['eval_f1']:.4f}, loss {metrics['eval_loss']:.4f}"
                                + (" (best so far)" if best else f" (best {state.best_f1:.4f} at step {state.best_step})"))
                    if args.with_tracking:
                        accelerator.log(scalar_metrics(metrics, "eval"), step=state.completed_steps)
                    if early_stop():
                        logger.info(f"Early stopping: no F1 improvement in {args.early_stopping_patience} evaluations")
                if args.checkpointing_steps == "epoch":
                    state.epoch, state.step_in_epoch = epoch + 1, 0  # a resumed run starts with the next epoch
                    save_state(f"epoch_{epoch}")
        progress_bar.close()
        if running_batches:
            log_running_loss()
        train_runtime = time.time() - start_time
        counter.detach()
        performance.training(counter, train_runtime)

        accelerator.wait_for_everyone()
        accelerator.unwrap_model(model).save_pretrained(  # safetensors, config with id2label/label2id
            args.output_dir, is_main_process=accelerator.is_main_process, save_function=accelerator.save,
            state_dict=accelerator.get_state_dict(model),
        )
        steps_done = state.completed_steps - start_steps
        metrics = {
            "train_loss": state.train_loss_sum / state.train_batches if state.train_batches else 0.0,
            "train_runtime": round(train_runtime, 4),
            "train_samples_per_second": round(steps_done * total_batch_size / train_runtime, 3),
            "train_steps_per_second": round(steps_done / train_runtime, 3),
            "epoch": state.completed_steps / updates_per_epoch,
            "train_samples": len(raw_datasets["train"]),
            "train_inputs": len(features["train"]),
        }
        state.log_history.append({"step": state.completed_steps, **metrics})
        if accelerator.is_main_process:
            tokenizer.save_pretrained(args.output_dir)
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
                               write_predictions=prefix == "predict")
            print(f"\n{prefix} report ({split}, {sum(evaluators[split].lengths)} words):\n{evaluators[split].report()}")

    # ---- What a person looks at: curves, per-type bars, confusion table, model card ----------------------
    if accelerator.is_main_process:
        report_training_run(args.output_dir, state.log_history, evaluators, model_args,
                            layout.arguments_as_used(data_args), args, raw_datasets, label_list, loaded.input_scheme, argv)
        performance.save(args.output_dir)

    # ---- Hub ------------------------------------------------------------------------------------------------
    if args.push_to_hub and args.do_train and accelerator.is_main_process:
        from huggingface_hub import HfApi

        api = HfApi(token=args.hub_token)
        try:
            repo_id = api.create_repo(args.hub_model_id or Path(args.output_dir).absolute().name, exist_ok=True).repo_id
            api.upload_folder(repo_id=repo_id, folder_path=args.output_dir, commit_message="End of training",
                              ignore_patterns=["step_*", "epoch_*", ".*"])
        except Exception as error:  # network, permissions, names: one line, the model is saved locally anyway
            raise NerDataError(f"could not push to the hub: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    accelerator.end_training()  # closes trackers and the process group


if __name__ == "__main__":
    main()

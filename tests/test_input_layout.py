"""The input layout (``--pack_length`` / ``--pack_attention`` / ``--context_size``) a model was trained with is
recorded in its config and used again when it is only evaluated or used for prediction, unless asked otherwise."""

import json
import logging
from types import SimpleNamespace

import pytest

import predict_ner
import run_ner
from conftest import SAMPLE
from nerkit.errors import UserError
from nerkit.inference import NerTagger
from nerkit.layout import DEFAULT_PACK_LENGTH, InputLayout, LayoutRequest
from nerkit.modeling import arrange_sentences, record_input_layout
from script_runner import call


@pytest.fixture(autouse=True)
def model_keeps_packed_sentences_apart(monkeypatch):
    """The models here are stand-ins: they take packed sentences with position ids counted from 0."""
    monkeypatch.setattr("nerkit.packing.isolating_position_offset", lambda *args, **kwargs: 0)


def layout(asked, recorded, do_train, pack_attention=None):
    """``(pack_length, context_size)`` chosen, and what the config holds afterwards."""
    config = SimpleNamespace()
    if recorded is not None:
        config.pack_length, config.context_size = recorded
    request = LayoutRequest(pack_length=asked[0], context_size=asked[1], pack_attention=pack_attention)
    decided = decide_and_record(request, SimpleNamespace(config=config), "model", do_train)
    chosen = (decided.pack_length, decided.context_size)
    assert (config.pack_length, config.context_size) == chosen
    assert config.pack_attention == decided.pack_attention
    return chosen


def decide_and_record(request, model, name, do_train):
    """The arrangement chosen for ``request``, recorded in ``model.config`` as the training scripts record it."""
    arrangement, offset = arrange_sentences(request, model, None, name, do_train)
    decided = InputLayout(128, 32, arrangement.pack_length, arrangement.context_size, arrangement.pack_attention,
                          offset)
    record_input_layout(model.config, decided)
    return decided


@pytest.mark.parametrize("asked, recorded, do_train, expected", [
    ((None, None), None, True, (DEFAULT_PACK_LENGTH, 0)),  # the defaults
    ((None, 32), None, True, (0, 32)),  # FLERT context turns packing off
    ((0, None), None, True, (0, 0)),
    ((None, None), (0, 32), True, (DEFAULT_PACK_LENGTH, 0)),  # training again: the defaults, not the record
    ((None, None), (0, 32), False, (0, 32)),  # evaluation only: as it was trained
    ((None, None), None, False, (DEFAULT_PACK_LENGTH, 0)),  # a model not trained here
    ((256, None), (0, 32), False, (256, 0)),  # asked for: what was asked
])
def test_the_layout_asked_for_else_the_recorded_one_else_the_defaults(asked, recorded, do_train, expected):
    assert layout(asked, recorded, do_train) == expected


def test_packing_and_context_together_is_a_clear_error():
    with pytest.raises(UserError, match="cannot be used together"):
        layout((64, 8), None, True)


def test_evaluating_with_another_layout_than_the_trained_one_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="nerkit.modeling"):
        assert layout((128, None), (0, 32), do_train=False) == (128, 0)
    assert "fine-tuned with --pack_length 0 --context_size 32" in caplog.text


def test_a_model_from_an_earlier_version_without_the_record_gets_a_warning(caplog):
    # Earlier versions recorded the case feature but not the layout, and packed by default.
    with caplog.at_level(logging.WARNING, logger="nerkit.modeling"):
        decided = decide_and_record(LayoutRequest(), SimpleNamespace(config=SimpleNamespace(case_feature=True)),
                                       "old-model", do_train=False)
    assert (decided.pack_length, decided.context_size) == (DEFAULT_PACK_LENGTH, 0)
    assert "old-model does not record" in caplog.text and "--pack_length 128 --pack_attention input" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nerkit.modeling"):  # a model not fine-tuned here: nothing to say
        decide_and_record(LayoutRequest(), SimpleNamespace(config=SimpleNamespace()), "bert", False)
    assert not caplog.text


def test_packed_sentences_of_a_model_recorded_before_pack_attention_read_each_other():
    # The version before --pack_attention recorded pack_length, and its packed sentences saw each other.
    config = SimpleNamespace(pack_length=128, context_size=0)
    decided = decide_and_record(LayoutRequest(), SimpleNamespace(config=config), "model", do_train=False)
    assert (decided.pack_length, decided.pack_attention) == (128, "input")
    assert config.packed_position_offset is None


@pytest.mark.parametrize("asked, logged", [(None, logging.INFO), (128, logging.WARNING)])
def test_a_model_that_cannot_keep_packed_sentences_apart_gets_one_sentence_per_input(monkeypatch, caplog, asked, logged):
    monkeypatch.setattr("nerkit.packing.isolating_position_offset", lambda *args, **kwargs: None)
    with caplog.at_level(logging.INFO, logger="nerkit.modeling"):
        assert layout((asked, None), None, do_train=True) == (0, 0)
    record = next(r for r in caplog.records if "does not keep sentences packed" in r.message)
    assert record.levelno == logged  # a warning only when packing was asked for
    # Packed sentences that read each other need nothing of the model:
    assert layout((asked, None), None, do_train=True, pack_attention="input") == (DEFAULT_PACK_LENGTH, 0)


def test_a_trained_model_is_evaluated_and_used_on_the_inputs_it_was_trained_on(tmp_path, tiny_model):
    """Trained with FLERT context (not the default): run_ner.py evaluating the saved model with no layout
    options reproduces the training run's evaluation exactly, and predict_ner.py builds the same inputs."""
    common = ["--model_name_or_path", tiny_model, "--validation_file", SAMPLE / "dev.conll", "--do_eval",
              "--report_to", "none", "--disable_tqdm", "true", "--per_device_eval_batch_size", 4]
    trained = tmp_path / "trained"
    assert call(run_ner.main, common + ["--train_file", SAMPLE / "train.conll", "--do_train", "--output_dir", trained,
                                        "--num_train_epochs", 1, "--max_train_samples", 40, "--save_strategy", "no",
                                        "--context_size", 6]) == 0
    config = json.loads((trained / "config.json").read_text())
    assert (config["pack_length"], config["context_size"]) == (0, 6)
    trained_loss = json.loads((trained / "eval_results.json").read_text())["eval_loss"]

    def eval_loss(name, *layout_options):
        argv = common + ["--output_dir", tmp_path / name, *layout_options]
        argv[1] = trained
        assert call(run_ner.main, argv) == 0
        return json.loads((tmp_path / name / "eval_results.json").read_text())["eval_loss"]

    assert eval_loss("again") == pytest.approx(trained_loss, rel=1e-6)
    # The layout does change what the model computes (packed sentences see other neighbours than context does):
    assert eval_loss("packed", "--pack_length", 128) != pytest.approx(trained_loss, rel=1e-6)

    tagger = NerTagger.load(str(trained), device="cpu")
    assert (tagger.spec.pack_length, tagger.spec.context_size) == (0, 6)
    assert call(predict_ner.main, ["--model", trained, "--input", SAMPLE / "dev.conll", "--output",
                                   tmp_path / "p.jsonl", "--quiet"]) == 0
    assert (tmp_path / "p.jsonl").stat().st_size > 0

"""report.html: self-contained, escaped, and checked in a real browser (Debian's headless Chromium)."""

import random
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from nerkit import metrics
from nerkit.formats import read_sentences
from nerkit.relaxed_metrics import document_scores, semeval_scores
from nerkit.reports.errors import split_errors
from nerkit.reports.html_report import render_report, write_report
from nerkit.schemes import get_spans

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def report_inputs(sentences, seed=0):
    tokens = [s.tokens for s in sentences]
    gold = [s.ner_tags for s in sentences]
    labels = sorted({tag for tags in gold for tag in tags})
    rng = random.Random(seed)
    predicted = [[rng.choice(labels) if rng.random() < 0.1 else tag for tag in tags] for tags in gold]
    documents, indices = [s.document_id or "" for s in sentences], [s.sentence_index for s in sentences]
    errors = split_errors(tokens, gold, predicted, documents, indices)
    return (tokens, gold, predicted, documents, indices, errors, metrics.score(gold, predicted)["per_type"],
            semeval_scores(gold, predicted), document_scores(gold, predicted, documents))


def render(*inputs) -> str:
    return render_report("test", *inputs)


def test_self_contained_and_every_entity_and_error_marked():
    inputs = report_inputs(read_sentences(SAMPLE / "test.conll"))
    tokens, gold, predicted, _, _, errors, *_ = inputs
    page = render(*inputs)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    assert page.count("<mark ") == sum(len(get_spans(t)) for t in gold) + sum(len(get_spans(t)) for t in predicted)
    assert page.count('<li class="err"') == len(errors) > 0
    per_type = inputs[6]
    assert page.count('<div class="bar">') == len(per_type) == 4  # the F1 plot: a bar per type


def test_labels_and_words_are_escaped_never_injected():
    label = """x<img src=y onerror="alert(1)">&'q"""
    words = ["<script>alert(2)</script>", "A&B", "\"quoted'"]
    gold, predicted = [[f"B-{label}", "O", "B-PER"]], [["O", f"B-{label}", "B-PER"]]
    errors = split_errors([words], gold, predicted, ["d<1>"], [0])
    page = render([words], gold, predicted, ["d<1>"], [0], errors, metrics.score(gold, predicted)["per_type"],
                  semeval_scores(gold, predicted), document_scores(gold, predicted, ["d<1>"]))
    assert "<script>alert" not in page and "<img" not in page and "d<1>" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "A&amp;B" in page and "&quot;quoted&#x27;" in page
    assert html_attribute_values(page, "data-type") >= {'x&lt;img src=y onerror=&quot;alert(1)&quot;&gt;&amp;&#x27;q'}


def html_attribute_values(page: str, name: str) -> set:
    return set(re.findall(name + r'="([^"]*)"', page))


def chromium(*arguments: str) -> str:
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--window-size=1280,900", *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@needs_chromium
def test_the_page_renders_and_filters_in_chromium(tmp_path):
    inputs = report_inputs(read_sentences(SAMPLE / "test.conll"), seed=3)
    tokens, gold, predicted, documents, indices, errors, *_ = inputs
    path = tmp_path / "report.html"
    write_report(path, "sample", *inputs)
    dom = chromium("--dump-dom", path.as_uri())
    assert dom.count("<mark ") == sum(len(get_spans(t)) for t in gold) + sum(len(get_spans(t)) for t in predicted)
    assert dom.count('<li class="err"') == len(errors)
    assert f'id="f-count">{sum(1 for g, p in zip(gold, predicted) if get_spans(g) or get_spans(p))} sentences' in dom

    # The filter (state in the address): only the errors of one class and type stay visible, and their sentences.
    def class_and_type(error):
        return error["class"], (error["gold"] or error["predicted"])["label"]

    chosen = Counter(class_and_type(e) for e in errors).most_common(1)[0][0]
    kept = [e for e in errors if class_and_type(e) == chosen]
    assert len(kept) < len(errors)
    dom = chromium("--dump-dom", path.as_uri() + f"#class={chosen[0]}&type={chosen[1]}")
    visible = re.findall(r'<li class="err" data-cls="(\w+)" data-type="([^"]*)">', dom)
    assert visible == [chosen] * len(kept)
    sentences = {(e["document_id"], e["sentence_index"]) for e in kept}
    assert f'id="f-count">{len(sentences)} sentences shown' in dom

    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", path.as_uri())
    from PIL import Image

    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, tables and highlights, not a blank page


@needs_chromium
def test_an_injected_label_stays_text_in_chromium(tmp_path):
    label = """x<img src=y onerror="document.title='pwned'">&'q"""
    gold, predicted = [[f"B-{label}", "O"]], [[f"B-{label}", "B-PER"]]
    errors = split_errors([["Ada", "wrote"]], gold, predicted, ["d"], [0])
    path = tmp_path / "report.html"
    write_report(path, "escape", [["Ada", "wrote"]], gold, predicted, ["d"], [0], errors,
                 metrics.score(gold, predicted)["per_type"], semeval_scores(gold, predicted),
                 document_scores(gold, predicted, ["d"]))
    dom = chromium("--dump-dom", path.as_uri())
    assert "<img" not in dom and "pwned" not in dom.split("<title>")[1].split("</title>")[0]
    assert dom.count("<mark ") == 3


@needs_chromium
def test_the_prediction_page_renders_in_chromium(tmp_path):
    """predict_ner.py --format html: raw text (no gold), entities marked on it, odd labels and text escaped."""
    import io

    from nerkit.reports.html_report import PredictionPage

    stream = io.StringIO()
    page = PredictionPage(stream)
    text = 'Ada <b>Lovelace</b> & "Babbage" met in London.\nNext line'
    page.write("doc <1>", text, [{"start": 0, "end": 19, "label": "P&R<'\"", "score": 0.9},
                                 {"start": 39, "end": 45, "label": "LOC", "score": 0.8}])
    page.write(None, "Nothing here.", [])
    page.close()
    path = tmp_path / "predictions.html"
    path.write_text(stream.getvalue(), encoding="utf-8")
    dom = chromium("--dump-dom", path.as_uri())
    assert dom.count("<mark ") == 2 and dom.count('<div class="doc">') == 2
    assert "<b>Lovelace</b>" not in dom and "&lt;b&gt;Lovelace&lt;/b&gt;" in dom and "doc &lt;1&gt;" in dom
    assert "London" in re.findall(r'data-type="LOC"[^>]*>([^<]*)<b>', dom)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model):
    """run_ner.py trains a tiny model on a slice of the sample (evaluated every 3 steps), then evaluates and
    predicts: the output folder."""
    import run_ner

    out = tmp_path_factory.mktemp("report-run") / "out"
    run_ner.main([str(a) for a in [
        "--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll", "--validation_file",
        SAMPLE / "dev.conll", "--test_file", SAMPLE / "test.conll", "--max_train_samples", 48, "--max_eval_samples", 30,
        "--max_predict_samples", 30, "--max_seq_length", 32, "--num_train_epochs", 2, "--per_device_train_batch_size", 8,
        "--eval_strategy", "steps", "--eval_steps", 3, "--logging_steps", 1, "--save_strategy", "no", "--report_to", "none",
        "--disable_tqdm", "true", "--seed", "1", "--output_dir", out, "--do_train", "--do_eval", "--do_predict"]])
    return out


def embedded_pngs(page: str):
    """(caption, PNG bytes) of each inline image of a page."""
    import base64

    return [(caption, base64.b64decode(data)) for caption, data in
            re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)]


def test_the_training_runs_plots_are_inside_its_reports(trained_run):
    """eval_report.html holds learning_curve.png and confusion.png (the validation split's) byte for byte;
    report.html the same learning curve and the test split's own confusion; nothing else is an image."""
    validation, test = ((trained_run / name).read_text(encoding="utf-8") for name in ("eval_report.html", "report.html"))
    curve, confusion = ((trained_run / name).read_bytes() for name in ("learning_curve.png", "confusion.png"))
    assert embedded_pngs(validation) == [("Learning curve", curve), ("Entity-level confusion (validation)", confusion)]
    (caption, test_curve), (test_caption, test_confusion) = embedded_pngs(test)
    assert (caption, test_curve, test_caption) == ("Learning curve", curve, "Entity-level confusion (test)")
    assert test_confusion.startswith(b"\x89PNG") and test_confusion != confusion
    for page in (validation, test):
        assert page.count("<img ") == 2 and not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_an_evaluation_only_run_has_no_learning_curve(tmp_path):
    from nerkit.reports.plots import report_plots

    gold = [["B-PER", "O", "B-LOC"]]
    plots = report_plots([{"epoch": 1.0, "eval_f1": None}], gold, [["B-PER", "O", "O"]], "validation")
    assert [caption for caption, _ in plots] == ["Entity-level confusion (validation)"]


@needs_chromium
def test_the_embedded_plots_are_drawn_in_chromium(trained_run, tmp_path):
    """The two images decode in the browser at their own size (a probe script, added to a copy of the page, writes
    each image's natural size into the DOM once the page has loaded)."""
    from PIL import Image

    page = (trained_run / "report.html").read_text(encoding="utf-8")
    probe = ('<script>addEventListener("load", function () { document.body.dataset.images = Array.from(document.images)'
             '.map(function (i) { return i.naturalWidth + "x" + i.naturalHeight; }).join(" "); });</script>')
    copy = tmp_path / "report.html"
    copy.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", copy.as_uri())
    sizes = re.search(r'data-images="([^"]*)"', dom).group(1).split()
    import io

    expected = ["%dx%d" % Image.open(io.BytesIO(png)).size for _, png in embedded_pngs(page)]
    assert sizes == expected and all(not size.startswith("0x") for size in sizes)


@needs_chromium
def test_plain_labels_get_the_word_level_page_in_chromium(tmp_path):
    """POS tags (with O among them): one row per sentence, a mark per labelled word, the words in error outlined
    with gold→predicted, the plain-label classes in the filter, and filtering by label hides the rest."""
    rng = random.Random(5)
    labels = ["NN", "VB", "DT", "JJ", "O"]
    tokens = [[f"w{i}" for i in range(rng.randint(3, 9))] for _ in range(40)]
    gold = [[rng.choice(labels) for _ in words] for words in tokens]
    predicted = [[rng.choice(labels) if rng.random() < 0.2 else tag for tag in tags] for tags in gold]
    documents, indices = ["d1"] * 20 + ["d2"] * 20, list(range(20)) * 2
    errors = split_errors(tokens, gold, predicted, documents, indices, plain=True)
    path = tmp_path / "report.html"
    write_report(path, "pos", tokens, gold, predicted, documents, indices, errors,
                 metrics.score(gold, predicted)["per_type"], semeval_scores(gold, predicted),
                 document_scores(gold, predicted, documents), plain=True)
    dom = chromium("--dump-dom", path.as_uri())
    labelled = sum(1 for g, p in zip(gold, predicted) for a, b in zip(g, p) if (a, b) != ("O", "O"))
    wrong = sum(1 for g, p in zip(gold, predicted) for a, b in zip(g, p) if a != b)
    assert dom.count("<mark ") == labelled and len(re.findall(r'<mark class="t\d+ bad"', dom)) == wrong == len(errors)
    assert dom.count('<p class="row">') == sum(1 for g, p in zip(gold, predicted) if set(g + p) != {"O"})
    assert {e["class"] for e in errors} == {"wrong_label", "missed", "spurious"}
    assert re.findall(r'<option value="(\w+)">', dom.split('id="f-class">')[1].split("</select>")[0]) == ["wrong_label", "missed", "spurious"]
    kept = [e for e in errors if e["class"] == "wrong_label" and e["gold"]["label"] == "NN"]
    dom = chromium("--dump-dom", path.as_uri() + "#class=wrong_label&type=NN")
    assert re.findall(r'<li class="err" data-cls="(\w+)" data-type="([^"]*)">', dom) == [("wrong_label", "NN")] * len(kept)

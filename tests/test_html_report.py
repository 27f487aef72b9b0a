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

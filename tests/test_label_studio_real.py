"""A real Label Studio (from PyPI, in its own virtual environment: LABEL_STUDIO_PYTHON, which .ci/run makes):
started on 127.0.0.1 with SQLite in a temporary folder, a project made through label-studio-sdk, our
pre-annotations (predict_ner.py --format labelstudio) and converted gold data (convert_iob.py) imported, the
project exported, and the export read back by our reader: the same entities, emoji and a label with a space
included."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nerkit.formats import FormatOptions, read_sentences
from nerkit.schemes import get_spans, original_type
from tiny_models import make_model_dir

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
TOKEN = "nerkit0test0token0for0label0studio00001"
TEXTS = ["😀 Ada Lovelace met Charles Babbage 👍 in London.", "Anna Velk left Oakhallow for Brinmoor 🇫🇷 today.",
         "The Crèvecœur Gallery opened in Paris."]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    python = os.environ.get("LABEL_STUDIO_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("set LABEL_STUDIO_PYTHON to a Python with label-studio and label-studio-sdk (.ci/run makes one)")
    folder = tmp_path_factory.mktemp("label-studio")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(python).parent / "label-studio"), "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(folder / "data"), "--username", "ci@example.com", "--password", "nerkit-ci-1",
               "--user-token", TOKEN, "--enable-legacy-api-token"]
    log = open(folder / "label-studio.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                              env={**os.environ, "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300  # the first start migrates the SQLite database
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail("Label Studio did not start:\n" + (folder / "label-studio.log").read_text(errors="replace")[-3000:])
            time.sleep(2)
        yield python, base, folder
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def entities(sentences):
    return sorted((s.text, s.offsets[a][0], s.offsets[b - 1][1], original_type(label))
                  for s in sentences for label, a, b in get_spans(s.ner_tags))


def test_pre_annotations_and_gold_through_a_real_label_studio(label_studio, tmp_path):
    python, base, _ = label_studio
    words = [w for t in TEXTS for w in t.split()]
    model = make_model_dir(tmp_path / "model", words, labels=LABELS)
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    run = [sys.executable, str(ROOT / "predict_ner.py"), "--model", str(model), "--input", str(tmp_path / "in.txt"), "--quiet"]
    for fmt, name in (("jsonl", "pred.jsonl"), ("labelstudio", "pred.json")):
        subprocess.run(run + ["--format", fmt, "--output", str(tmp_path / name)], check=True)
    predicted = sorted((r["text"], e["start"], e["end"], e["label"])
                       for line in (tmp_path / "pred.jsonl").read_text(encoding="utf-8").splitlines()
                       for r in [json.loads(line)] for e in r["entities"])
    assert predicted  # the random model predicts entities
    gold = [{"id": f"g{n}", "text": text, "label": [[text.index(w), text.index(w) + len(w), label]]}
            for n, (text, w, label) in enumerate(zip(TEXTS, ["Lovelace", "Brinmoor", "Crèvecœur Gallery"], ["PER", "LOC", "Titre 2"]))]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold), encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "convert_iob.py"), "--input", str(tmp_path / "gold.jsonl"),
                    "--output", str(tmp_path / "gold.labelstudio.json")], check=True, capture_output=True)

    labels = "LOC,MISC,ORG,PER,Titre 2"
    subprocess.run([python, str(ROOT / "tests" / "label_studio" / "driver.py"), base, TOKEN, labels,
                    str(tmp_path / "pred.json"), str(tmp_path / "gold.labelstudio.json"), str(tmp_path)], check=True, timeout=300)

    gold_back = read_sentences(tmp_path / "export.json", "labelstudio")
    assert entities(gold_back) == sorted((g["text"], s, e, label) for g in gold for s, e, label in g["label"])
    options = FormatOptions(annotation="predictions")
    assert entities(read_sentences(tmp_path / "tasks.json", "labelstudio", options)) == predicted
    assert options.report.counts["tasks without annotation"] == len(gold)  # the gold tasks have no predictions


CONFIG = """<View>
  <Labels name="ner" toName="doc"><Label value="Person" alias="PER"/><Label value="LOC"/><Label value="ORG"/></Labels>
  <Text name="doc" value="$sentence"/>
</View>
"""


def test_a_label_the_project_lacks_is_refused_by_us_since_label_studio_takes_it(label_studio, tmp_path):
    """Label Studio 1.23 imports a prediction whose label its labelling config lacks (its check is behind a feature
    flag, off by default, and only logged), and keeps the label: so predict_ner.py --label_config refuses the
    model's label before writing; with the labels the project has, the regions are named as its config names them
    (control ``ner`` on object ``doc``, text in ``data.sentence``, PER as the alias of ``Person``)."""
    python, base, _ = label_studio
    config = tmp_path / "config.xml"
    config.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    words = [w for t in TEXTS for w in t.split()]
    run = [sys.executable, str(ROOT / "predict_ner.py"), "--input", str(tmp_path / "in.txt"), "--quiet", "--format",
           "labelstudio", "--label_config", str(config)]
    refused = subprocess.run(run + ["--model", str(make_model_dir(tmp_path / "misc", words, labels=LABELS)),
                                    "--output", str(tmp_path / "refused.json")], capture_output=True, text=True)
    assert refused.returncode == 2 and not (tmp_path / "refused.json").exists()
    assert refused.stderr.startswith(f"error: {config}:2: the model's label 'MISC' not among the labels")

    model = make_model_dir(tmp_path / "model", words, labels=[label for label in LABELS if "MISC" not in label])
    subprocess.run(run + ["--model", str(model), "--output", str(tmp_path / "pre.json")], check=True)
    written = json.loads((tmp_path / "pre.json").read_text(encoding="utf-8"))
    predicted = sorted((task["data"]["sentence"], r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
                       for task in written for r in task["predictions"][0]["result"])
    assert predicted
    # Label Studio's side: our tasks, and one whose prediction has a label the project lacks (DATE).
    stray = [{"data": {"sentence": "Ada met Bob on Monday"}, "predictions": [{"model_version": "hand", "result": [
        {"from_name": "ner", "to_name": "doc", "type": "labels",
         "value": {"start": 15, "end": 21, "text": "Monday", "labels": ["DATE"]}}]}]}]
    (tmp_path / "stray.json").write_text(json.dumps(stray), encoding="utf-8")
    subprocess.run([python, str(ROOT / "tests" / "label_studio" / "driver.py"), base, TOKEN, str(config),
                    str(tmp_path / "pre.json"), str(tmp_path / "stray.json"), str(tmp_path)], check=True, timeout=300)

    back = read_sentences(tmp_path / "tasks.json", "labelstudio", FormatOptions(annotation="predictions"))
    assert entities(back) == sorted(predicted + [("Ada met Bob on Monday", 15, 21, "DATE")])

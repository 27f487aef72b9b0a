"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def shared_data() -> Path:
    """The real corpora folder (``../shared/data``), read in place; skips the test when it is not set up."""
    value = os.environ.get("NER_SHARED_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("set NER_SHARED_DATA to ../shared/data to run tests on the real corpora")
    return Path(value)


REPO = Path(__file__).resolve().parent.parent
# Run by Label Studio's own interpreter (tests/test_label_studio_real.py), with packages ours does not have.
collect_ignore = ["label_studio"]
SAMPLE = REPO / "data" / "sample"


def _sample_words():
    words = []
    for line in (SAMPLE / "train.conll").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("-DOCSTART-"):
            words.append(line.split()[0])
    return words


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random BERT encoder (no token-classification head yet) saved in a folder."""
    from tiny_models import make_model_dir

    return make_model_dir(tmp_path_factory.mktemp("tiny-bert"), _sample_words())


@pytest.fixture(scope="module")
def one_torch_thread():
    """A tiny model gains nothing from threads, and on a busy 2-core machine loses a lot to them."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

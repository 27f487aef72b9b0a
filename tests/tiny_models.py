"""Tiny random models for fast tests: a 2-layer BERT and a WordPiece tokenizer built on the spot.

The vocabulary is every character of the test words plus whole lower-cased words, so tokenisation produces
both whole words and multi-piece words (``##`` continuations), which is what alignment tests need.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Optional, Sequence

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tokenizer(words: Iterable[str], whole_words: int = 150):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = [w.lower() for w in words]
    chars = sorted({c for w in words for c in w})
    frequent = [w for w, _ in Counter(w for w in words if len(w) > 1).most_common(whole_words)]
    vocab = SPECIAL + chars + ["##" + c for c in chars] + frequent
    vocab = list(dict.fromkeys(vocab))
    backend = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))],
    )
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=128,
    )


def make_model_dir(folder: Path, words: Iterable[str], labels: Optional[Sequence[str]] = None,
                   max_position_embeddings: int = 128, seed: int = 0) -> Path:
    """Save a tiny random BERT (a plain encoder, or a token classifier when ``labels`` is given)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertModel

    torch.manual_seed(seed)
    tokenizer = make_tokenizer(words)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=max_position_embeddings,
    )
    if labels is not None:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        model = BertForTokenClassification(config)
    else:
        model = BertModel(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


FOURIER_CODE = '''"""A token classifier whose logits are mixed along the sequence by an FFT: runs in PyTorch, and the ONNX
exporter has no FFT (a stand-in for any architecture that cannot be exported)."""
import torch
from transformers import BertConfig, BertForTokenClassification


class FourierConfig(BertConfig):
    model_type = "fourier-bert"


class FourierForTokenClassification(BertForTokenClassification):
    config_class = FourierConfig

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        output = super().forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                                 position_ids=position_ids, **kwargs)
        output.logits = output.logits + 0.01 * torch.fft.fft(output.logits, dim=1).real
        return output
'''


def make_fourier_model_dir(folder: Path, words: Iterable[str], labels: Sequence[str]) -> Path:
    """A tiny token classifier of a custom architecture (remote code, ``--trust_remote_code``) that the ONNX
    exporter cannot export."""
    import json

    make_model_dir(folder, words, labels=labels)
    (folder / "modeling_fourier.py").write_text(FOURIER_CODE, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(model_type="fourier-bert", architectures=["FourierForTokenClassification"],
                  auto_map={"AutoConfig": "modeling_fourier.FourierConfig",
                            "AutoModelForTokenClassification": "modeling_fourier.FourierForTokenClassification"})
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder

"""Standard Hugging Face loading of a model that reads case through ``token_type_ids`` (``--case_feature``).

``transformers`` alone never sets those types, so a model trained with the case feature would silently lose most
of what case tells it. :func:`write_standard_loading` makes a saved model folder carry the code that sets them:

- ``case_feature_tokenizer.py``, a copy of :mod:`nerkit.case_feature_tokenizer` (it imports only transformers and NumPy);
- ``tokenizer_config.json`` names its tokenizer (``tokenizer_class``, ``auto_map``), so
  ``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`` sets the types;
- ``config.json`` names its pipeline (``custom_pipelines``), so ``pipeline("token-classification", folder)``
  without ``trust_remote_code=True`` stops at once with transformers' message asking for it.

Both training scripts call it on every folder they save a model in (checkpoints too), ``scripts/
upgrade_standard_loading.py`` on folders saved before. nerkit itself never runs that code: it builds the types
from the words (:mod:`nerkit.inputs`), and :func:`is_case_feature_tokenizer` lets :func:`nerkit.modeling.
load_tokenizer` load the plain fast tokenizer underneath, without ``trust_remote_code``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .files import atomic_write

MODULE_FILE = "case_feature_tokenizer.py"
TOKENIZER_REF = "case_feature_tokenizer.CaseFeatureTokenizer"
PIPELINE_REF = "case_feature_tokenizer.CaseFeaturePipeline"
CUSTOM_PIPELINES = {"token-classification": {"impl": PIPELINE_REF, "pt": ["AutoModelForTokenClassification"],
                                             "type": "text"}}
PLAIN_TOKENIZER_CLASS = "TokenizersBackend"  # what the tokenizer is underneath: tokenizer.json as saved


def write_standard_loading(folder) -> bool:
    """Make the saved model in ``folder`` set the case feature under transformers' standard loading, when its
    ``config.json`` records it (``"case_feature": true``); else make sure nothing of ours is left in its config
    (a model trained further without the feature). True when the folder now carries the code."""
    folder = Path(folder)
    config_path, tokenizer_path = folder / "config.json", folder / "tokenizer_config.json"
    if not config_path.is_file():
        return False
    config = _read_json(config_path)
    if config.get("case_feature") is not True or not tokenizer_path.is_file():
        if config.get("custom_pipelines") == CUSTOM_PIPELINES:
            del config["custom_pipelines"]
            _write_json(config_path, config)
        return False
    with atomic_write(folder / MODULE_FILE) as stream:
        stream.write((Path(__file__).parent / MODULE_FILE).read_text(encoding="utf-8"))
    tokenizer_config = _read_json(tokenizer_path)
    tokenizer_config["tokenizer_class"] = TOKENIZER_REF.split(".")[1]
    tokenizer_config["auto_map"] = {**tokenizer_config.get("auto_map", {}), "AutoTokenizer": [None, TOKENIZER_REF]}
    _write_json(tokenizer_path, tokenizer_config)
    config["custom_pipelines"] = CUSTOM_PIPELINES
    _write_json(config_path, config)
    return True


def is_case_feature_model(folder) -> bool:
    """Whether the saved model in ``folder`` was trained with the case feature (``config.json`` records it)."""
    path = Path(folder) / "config.json"
    return path.is_file() and _read_json(path).get("case_feature") is True


def is_case_feature_tokenizer(name: str, **hub_kwargs) -> bool:
    """Whether the tokenizer of ``name`` (a folder or hub id) is the one :func:`write_standard_loading` names."""
    from transformers.models.auto.tokenization_auto import get_tokenizer_config

    try:
        tokenizer_config = get_tokenizer_config(name, **hub_kwargs)
    except (OSError, ValueError):
        return False
    auto_map = tokenizer_config.get("auto_map")
    entry: Optional[list] = auto_map.get("AutoTokenizer") if isinstance(auto_map, dict) else None
    return bool(entry) and entry[-1] == TOKENIZER_REF


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def _write_json(path: Path, value: dict) -> None:
    # As transformers writes both files, so that a diff shows only what changed.
    with atomic_write(path) as stream:
        stream.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


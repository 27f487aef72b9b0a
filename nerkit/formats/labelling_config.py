"""A Label Studio project's labelling config (its XML), read for what pre-annotations must match.

::

    <View>
      <Labels name="label" toName="text">
        <Label value="PER"/><Label value="Organisation" alias="ORG"/>
      </Labels>
      <Text name="text" value="$text"/>
    </View>

A region of a prediction names the ``<Labels>`` control (``from_name``), the ``<Text>`` object it labels
(``to_name``) and one label, which Label Studio stores as the ``<Label>``'s ``alias`` when it has one, else
its ``value`` (as ``label_studio_sdk``'s ``LabelInterface`` reads them); the task's text is the ``data``
field the ``<Text>`` object's ``value="$field"`` names. :func:`read_labelling_config` finds the ``<Labels>``
control on a ``<Text>`` object (the first, when there are several) and :meth:`LabellingConfig.check_types`
refuses labels it lacks, naming the file and the line of ``<Labels>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple
from xml.parsers import expat

from ..errors import NerDataError
from ..files import read_text


@dataclass(frozen=True)
class LabellingConfig:
    """The ``<Labels>`` control pre-annotations are written for: its name, the ``<Text>`` object it labels, that
    object's data field, its labels, and where it is (file, line of ``<Labels>``)."""

    path: str
    from_name: str
    to_name: str
    text_field: str
    labels: Tuple[str, ...]
    line: int

    def check_types(self, types: Iterable[str]) -> None:
        """Refuse entity types that are not among the control's labels, all of them named in one line."""
        missing = [label for label in types if label not in self.labels]
        if missing:
            names = ", ".join(repr(label) for label in missing)
            raise NerDataError(
                f"the model's label{'s' if len(missing) > 1 else ''} {names} not among the labels of "
                f'<Labels name="{self.from_name}"> ({", ".join(self.labels)}); add '
                f"{'them' if len(missing) > 1 else 'it'} to the project's labelling config",
                path=self.path, line=self.line)


def _parse(text: str, path: str) -> Tuple[List[dict], Dict[str, str]]:
    """The ``<Labels>`` controls (name, toName, labels, line) and ``<Text>`` objects (name: data field)."""
    controls: List[dict] = []
    texts: Dict[str, str] = {}
    parser = expat.ParserCreate()
    depth = {"labels": 0}

    def start(tag: str, attributes: Dict[str, str]) -> None:
        if tag == "Labels":
            controls.append({"name": attributes.get("name", ""), "to_name": attributes.get("toName", ""),
                             "labels": [], "line": parser.CurrentLineNumber})
            depth["labels"] += 1
        elif tag == "Label" and depth["labels"] and controls:
            label = attributes.get("alias") or attributes.get("value")
            if label:
                controls[-1]["labels"].append(label)
        elif tag == "Text" and attributes.get("name"):
            texts[attributes["name"]] = attributes.get("value", "").lstrip("$")

    def end(tag: str) -> None:
        if tag == "Labels":
            depth["labels"] -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(text, True)
    except expat.ExpatError as error:
        raise NerDataError(f"not a labelling config: invalid XML: {expat.ErrorString(error.code)}",
                           path=path, line=error.lineno) from None
    return controls, texts


def read_labelling_config(path, encoding: str = "utf-8") -> LabellingConfig:
    """The ``<Labels>`` control on a ``<Text>`` object of a labelling config file.

    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.xml"
    >>> _ = file.write_text('<View>\\n<Labels name="ner" toName="doc">\\n<Label value="PER"/><Label value="Org" alias="ORG"/>'
    ...                     '</Labels>\\n<Text name="doc" value="$sentence"/></View>')
    >>> config = read_labelling_config(file)
    >>> config.from_name, config.to_name, config.text_field, config.labels, config.line
    ('ner', 'doc', 'sentence', ('PER', 'ORG'), 2)
    """
    name = str(path)
    controls, texts = _parse(read_text(path, encoding), name)
    on_text = [control for control in controls if control["to_name"] in texts]
    if not on_text:
        raise NerDataError("no <Labels> control on a <Text> object: not the labelling config of a text NER project",
                           path=name)
    control = on_text[0]
    return LabellingConfig(name, control["name"], control["to_name"], texts[control["to_name"]] or control["to_name"],
                           tuple(control["labels"]), control["line"])

"""Run by the Python that has Label Studio's SDK (LABEL_STUDIO_PYTHON), not ours: create a project with an NER
labelling config, import our tasks, and save the project's export and its tasks as the API returns them.

    python driver.py BASE_URL TOKEN LABELS TASKS_JSON... OUT_FOLDER

LABELS: comma-separated labels (a config with <Labels name="label"> on <Text name="text" value="$text">), or a
labelling config file (.xml) to use as it is.

OUT_FOLDER/export.json: the JSON export (annotations in full; predictions as ids, as Label Studio exports them);
OUT_FOLDER/tasks.json: the tasks from the tasks API, predictions in full.
"""

import json
import sys
from pathlib import Path

from label_studio_sdk import LabelStudio

base, token, labels, *task_files, out = sys.argv[1:]
client = LabelStudio(base_url=base, api_key=token)
if labels.endswith(".xml"):
    config = Path(labels).read_text(encoding="utf-8")
else:
    config = ('<View><Labels name="label" toName="text">' + "".join(f'<Label value="{label}"/>' for label in labels.split(","))
              + '</Labels><Text name="text" value="$text"/></View>')
project = client.projects.create(title="nerkit round trip", label_config=config)
for task_file in task_files:
    client.projects.import_tasks(id=project.id, request=json.loads(Path(task_file).read_text(encoding="utf-8")))
export = b"".join(client.projects.exports.download_sync(project.id, export_type="JSON", download_all_tasks=True))
Path(out, "export.json").write_bytes(export)
tasks = [task.model_dump(mode="json") for task in client.tasks.list(project=project.id, fields="all")]
Path(out, "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")

"""``cintel annotate``: a project from a TOML spec over a store's contents, its tasks,
assignment and statistics, and clear errors for a bad spec."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cintel.annotate.workflow import save
from cintel.annotation import AnnotationResult
from cintel.config import Settings
from cintel.store import open_store
from tests.helpers.builders import make_content, make_source
from tests.helpers.cli import cli

SPEC = """
name = "episode safety"
instructions = "Rate each item."
annotators_per_task = 1

[[label_schema.questions]]
name = "rating"
type = "classification"
labels = ["clean", "explicit"]
"""


def test_create_list_tasks_assign_and_stats(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_store(settings.store_url) as store:
        for i in range(3):
            store.add_content(make_content(i), make_source())
    spec = tmp_path / "project.toml"
    spec.write_text(SPEC)
    code, out = cli(tmp_path, "annotate", "project", "create", str(spec), "--json")
    assert code == 0, out
    made = json.loads(out)
    assert made["name"] == "episode safety" and made["tasks"] == 3
    project_id = made["id"]

    code, out = cli(tmp_path, "annotate", "project", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["id"] == project_id and listed["tasks"]["open"] == 3

    code, out = cli(tmp_path, "annotate", "assign", project_id, "-a", "key1", "-r", "key2")
    assert code == 0
    code, out = cli(tmp_path, "annotate", "tasks", project_id, "--json")
    tasks = json.loads(out)
    assert len(tasks) == 3 and {t["status"] for t in tasks} == {"open"}

    with open_store(settings.store_url) as store:
        project = store.get_project(project_id, "default")
        assert project is not None and project.annotators == ["key1"]
        answer = AnnotationResult(answers={"rating": "clean"})
        save(store, project, tasks[0]["id"], "key1", answer, base_version=None, submit=True)

    code, out = cli(tmp_path, "annotate", "stats", project_id, "--json")
    report = json.loads(out)
    assert report["tasks"]["done"] == 1 and report["tasks"]["open"] == 2
    (person,) = report["agreement"]["annotators"]
    assert person["annotator"] == "key1" and person["submitted"] == 1
    code, out = cli(tmp_path, "annotate", "stats", project_id)
    assert code == 0 and "episode safety" in out and "key1" in out


def test_bad_spec_and_unknown_project_are_clear_errors(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "x"\n[[label_schema.questions]]\nname = "ads"\ntype = "segments"\n')
    code, out = cli(tmp_path, "annotate", "project", "create", str(spec))
    assert code == 2 and "needs a label set" in out
    code, out = cli(tmp_path, "annotate", "stats", "nope")
    assert code == 2 and "no annotation project 'nope'" in out


TURNS_SPEC = """
name = "turns"
annotators_per_task = 1

[[label_schema.questions]]
name = "turns"
type = "turns"
"""


def test_gold_exports_to_label_studio_and_rttm_and_imports_back(tmp_path: Path) -> None:
    from cintel.annotation import AnnotationResult
    from cintel.model import Segment

    settings = Settings(data_dir=tmp_path / "data")
    with open_store(settings.store_url) as store:
        store.add_content(make_content(1, kind="audio", duration_s=30.0), make_source())
    spec = tmp_path / "turns.toml"
    spec.write_text(TURNS_SPEC)
    code, out = cli(tmp_path, "annotate", "project", "create", str(spec), "--json")
    project_id = json.loads(out)["id"]
    cli(tmp_path, "annotate", "assign", project_id, "-a", "key1")
    turns = [
        Segment(start=0.0, end=12.5, label="turn", speaker="Ann Lee", attrs={"question": "turns"}),
        Segment(start=12.5, end=30.0, label="turn", speaker="Bo", attrs={"question": "turns"}),
    ]
    with open_store(settings.store_url) as store:
        project = store.get_project(project_id, "default")
        (task,) = store.list_tasks(project_id, "default")
        save(
            store,
            project,
            task.id,
            "key1",
            AnnotationResult(segments=turns),
            base_version=None,
            submit=True,
        )
        assert store.get_task(task.id, "default").gold is not None  # one annotator: gold

    code, rttm = cli(tmp_path, "annotate", "export", project_id, "-f", "rttm")
    assert code == 0
    assert rttm.splitlines() == [
        f"SPEAKER {task.content_id} 1 0.000 12.500 <NA> <NA> Ann_Lee <NA> <NA>",
        f"SPEAKER {task.content_id} 1 12.500 17.500 <NA> <NA> Bo <NA> <NA>",
    ]
    exported = tmp_path / "gold.json"
    code, _ = cli(tmp_path, "annotate", "export", project_id, "-o", str(exported))
    assert code == 0
    first = json.loads(exported.read_text())
    assert first[0]["annotations"][-1]["ground_truth"] is True
    code, out = cli(tmp_path, "annotate", "import", project_id, str(exported), "--json")
    assert code == 0 and json.loads(out) == {"tasks": 0, "answers": 1}
    code, second = cli(tmp_path, "annotate", "export", project_id)

    def settled(tasks: list[dict[str, object]]) -> str:
        # an imported answer is saved again, so only its save time may differ
        return re.sub(r'"updated_at": "[^"]*"', "", json.dumps(tasks, sort_keys=True))

    assert settled(json.loads(second)) == settled(first)
    code, rttm_again = cli(tmp_path, "annotate", "export", project_id, "-f", "rttm")
    assert rttm_again == rttm

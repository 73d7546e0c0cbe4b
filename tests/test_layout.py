"""The house's map stays true: every module opens with its one job, and README's "What is where" names it."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def modules() -> list[Path]:
    return sorted(p for pkg in ("synth", "train") for p in (REPO / pkg).glob("*.py"))


def test_every_module_opens_with_its_job():
    for path in modules():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{path.relative_to(REPO)} has no docstring saying its job"
        first = doc.splitlines()[0]
        assert first.endswith(".") and len(first) <= 120, f"{path.relative_to(REPO)}: one line, a sentence: {first!r}"


def test_readme_names_every_module():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## What is where", 1)[1].split("```")[1]
    missing = [str(p.relative_to(REPO)) for p in modules()
               if p.name not in block and not p.name.startswith("__")]
    assert not missing, f"README's What is where does not name {missing}"

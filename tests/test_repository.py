"""The repository stands alone: no tracked text file refers to a file outside it. The API documents are named
by their title and origin (README.md, "The API"), the decisions are in docs/decisions.md, and every relative
link of a Markdown file leads to a file of the repository."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# A path up and out of the repository into the folder of notes it was started from.
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/spec\b")
# The names of those notes (`design_md` as in a test's name): fine only once a tracked file bears the name.
OUTSIDE_DOCUMENTS = re.compile(
    r"(?:\bspec/)?(tutum-api-v1(?:\.rst)?|tutum-2015(?:\.md)?|design[._]md|machine-notes(?:\.md)?|style\.md)\b"
)
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked_text_files() -> dict[str, str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = {}
    for path in listed.decode().split("\0"):
        try:
            data = (ROOT / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue  # deleted in the working tree, or a submodule
        if b"\0" not in data:
            files[path] = data.decode(errors="replace")
    return files


def _lines(files: dict[str, str]):
    for path, text in files.items():
        if path != THIS:
            for number, line in enumerate(text.splitlines(), 1):
                yield path, number, line


def test_no_tracked_file_refers_to_a_file_outside_the_repository():
    files = _tracked_text_files()
    names = {Path(path).name for path in files}
    found = []
    for path, number, line in _lines(files):
        outside = OUTSIDE.search(line)
        documents = [m for m in OUTSIDE_DOCUMENTS.finditer(line) if m.group(1).replace("_", ".") not in names]
        if outside or documents:
            found.append(f"{path}:{number}: {line.strip()}")
    assert not found, (
        "files outside the repository (name a document by its title and origin, or say what it says):\n"
        + "\n".join(found)
    )


def test_every_relative_markdown_link_leads_to_a_file_of_the_repository():
    files = _tracked_text_files()
    broken = []
    for path, number, line in _lines({p: t for p, t in files.items() if p.endswith(".md")}):
        for target in MARKDOWN_LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue  # https:, mailto:
            resolved = (ROOT / path).parent.joinpath(target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path}:{number}: {target}")
    assert not broken, "\n".join(broken)

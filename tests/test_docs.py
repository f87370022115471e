"""The docs stand alone: links resolve, code compiles, nothing points outside the repository.

* Every relative link in README.md and docs/*.md names a file or folder that exists, and a
  ``#anchor`` names a heading of the page it points to (GitHub's heading ids).
* Every ```python block in README.md and docs/*.md compiles (top-level ``await`` allowed: a
  snippet may show the body of an async function).
* No doc, and no file of the packages, tests, examples or benchmarks, names the internal
  design notes that users do not have: docs/protocol.md and docs/architecture.md are the
  references.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE_TREES = ["actors", "pywatt", "tests", "examples", "benchmarks"]

# Written in pieces so that this file does not name them itself.
FORBIDDEN = re.compile(
    "|".join([r"ARCHITECTURE" + r"\.md", r"PROTOCOL" + r"\.md", r"\.\./" + "shared"])
)

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"(?<!\\)!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _split(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str, str]]]:
    """The page's prose lines and its fenced code blocks (first line number, info, text)."""
    prose: list[tuple[int, str]] = []
    blocks: list[tuple[int, str, str]] = []
    fence: str | None = None
    info = ""
    start = 0
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence, info, start, body = match.group(2), match.group(3).strip(), number, []
            else:
                prose.append((number, line))
        elif match and match.group(2).startswith(fence) and not match.group(3).strip():
            blocks.append((start, info, textwrap.dedent("\n".join(body))))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{_rel(path)}:{start}: a code fence is never closed"
    return prose, blocks


def slug(heading: str) -> str:
    """GitHub's id for a heading: markup dropped (code keeps its text), lower case,
    punctuation removed, spaces to hyphens."""
    text = ""
    for part in re.split(r"(`+[^`]*`+)", heading):
        if part.startswith("`"):
            text += part.strip("`")
        else:
            part = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", part)  # links keep their text
            text += re.sub(r"<[^>]+>", "", part)  # inline HTML
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a link may name on ``path`` (duplicates numbered as GitHub does)."""
    if path.suffix != ".md":
        return set()
    prose, _ = _split(path)
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose:
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """Every link target in the page's prose (inline code and code blocks left out)."""
    found: list[tuple[int, str]] = []
    for number, line in _split(path)[0]:
        text = INLINE_CODE.sub("", line)
        found.extend((number, target) for target in LINK.findall(text))
        reference = REFERENCE.match(text)
        if reference:
            found.append((number, reference.group(1)))
    return found


def _ids(paths: list[Path]) -> list[str]:
    return [_rel(p) for p in paths]


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of ``page`` that do not resolve inside ``root``, one line each."""
    broken: list[str] = []
    for number, target in links(page):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a public site: not checked here
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / unquote(file_part)).resolve() if file_part else page
        where = f"{_rel(page)}:{number}: {target}"
        if not destination.is_relative_to(root):
            broken.append(f"{where}: leaves the repository")
        elif not destination.exists():
            broken.append(f"{where}: no such file")
        elif anchor and destination.is_file() and unquote(anchor) not in anchors(destination):
            broken.append(f"{where}: no heading with the id #{anchor}")
    return broken


@pytest.mark.parametrize("page", DOCS, ids=_ids(DOCS))
def test_relative_links_resolve(page: Path) -> None:
    broken = broken_links(page)
    assert not broken, "broken links:\n" + "\n".join(broken)


PYTHON_BLOCKS = [
    pytest.param(page, start, text, id=f"{_rel(page)}:{start}")
    for page in DOCS
    for start, info, text in _split(page)[1]
    if info.split()[:1] in (["python"], ["py"], ["python3"])
]


@pytest.mark.parametrize(("page", "start", "text"), PYTHON_BLOCKS)
def test_python_blocks_compile(page: Path, start: int, text: str) -> None:
    try:
        compile(text, f"{_rel(page)}:{start}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as exc:
        line = start + (exc.lineno or 0)
        pytest.fail(f"{_rel(page)}:{line}: the python block does not compile: {exc.msg}")


def test_there_are_python_blocks() -> None:
    assert len(PYTHON_BLOCKS) >= 10  # the splitter finds the fences


def _named_in(paths: list[Path]) -> list[str]:
    hits: list[str] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{_rel(path)}:{number}: {line.strip()}")
    return hits


def test_docs_do_not_name_the_internal_notes() -> None:
    hits = _named_in(DOCS)
    assert not hits, "use docs/protocol.md or docs/architecture.md instead:\n" + "\n".join(hits)


def test_code_does_not_name_the_internal_notes() -> None:
    files = [
        path
        for tree in CODE_TREES
        for path in sorted((ROOT / tree).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".md", ".toml", ".txt", ".json", ".sh"}
    ]
    hits = _named_in(files)
    assert not hits, "use docs/protocol.md or docs/architecture.md instead:\n" + "\n".join(hits)


def test_the_reference_pages_exist() -> None:
    for name in ("protocol.md", "architecture.md", "protocol-extensions.md"):
        assert (ROOT / "docs" / name).is_file(), name


# -- the checker checks ----------------------------------------------------------------------


def test_slug_follows_github() -> None:
    assert slug("3.2 The InitBlob (first stdin line, O→M)") == "32-the-initblob-first-stdin-line-om"
    assert slug("`Message<T>`, `MessageMetadata`") == "messaget-messagemetadata"
    assert slug("A [link](x.md) here") == "a-link-here"


def test_links_skip_code(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "See [a](a.md) and `[b](b.md)`.\n```python\n[c](c.md)\n```\n[d]: d.md\n",
        encoding="utf-8",
    )
    assert [t for _, t in links(page)] == ["a.md", "d.md"]


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## 3.2 A section\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n"
        "[ok](other.md) [ok](other.md#32-a-section) [ok](#page) [ok](https://example.org/x)\n"
        "[missing](gone.md) [bad anchor](other.md#no-such) [outside](../../elsewhere.md)\n"
    )
    assert [line.rsplit(": ", 1)[1] for line in broken_links(page, tmp_path)] == [
        "no such file",
        "no heading with the id #no-such",
        "leaves the repository",
    ]

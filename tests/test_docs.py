"""The docs stand alone: links resolve, code compiles, nothing points outside the repository.

* Every relative link in README.md and docs/*.md (inline, reference-style, autolink, one
  whose text wraps onto the next line) names a file or folder inside the repository that
  exists, and a ``#anchor`` names a heading of the page it points to (GitHub's heading ids).
* Every other link is to a public http(s) site: no ``file:``, ``mailto:`` or other scheme,
  no protocol-relative ``//host``, no localhost, private address or single-label host.
* Every ```python block in README.md and docs/*.md compiles (top-level ``await`` allowed: a
  snippet may show the body of an async function); every ```toml block is valid TOML and
  every ```json block valid JSON.
* No doc, and no file of the packages, tests, examples or benchmarks, names the internal
  design notes, style guide or seed folder that users do not have: docs/protocol.md and
  docs/architecture.md are the references.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import re
import textwrap
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CODE_TREES = ["actors", "pywatt", "tests", "examples", "benchmarks"]

# Written in pieces so that this file does not name them itself. The seed's folder is named
# only as our tests' folder of the seed's API (tests/, then the seed's name).
FORBIDDEN = re.compile(
    "|".join(
        [
            r"ARCHITECTURE" + r"\.md",
            r"PROTOCOL" + r"\.md",
            r"STYLE" + r"\.md",
            r"\.\./" + "shared",
            r"(?<!tests/)(?<![\w-])" + "se" + "ed/",
            r"(?<![\w-])" + "notes/" + r"[\w.-]+\.md",
        ]
    )
)

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK = re.compile(r"(?<!\\)!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>]*)>")
HREF = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
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


def _paragraphs(path: Path) -> list[tuple[int, str]]:
    """The page's prose as paragraphs (first line number, text): runs of consecutive
    non-blank prose lines, so that a link whose text wraps onto the next line is one."""
    paragraphs: list[tuple[int, list[str]]] = []
    previous = -1
    for number, line in _split(path)[0]:
        if not line.strip():
            previous = -1
            continue
        if number != previous + 1 or not paragraphs:
            paragraphs.append((number, []))
        paragraphs[-1][1].append(line)
        previous = number
    return [(start, "\n".join(lines)) for start, lines in paragraphs]


def links(path: Path) -> list[tuple[int, str]]:
    """Every link target in the page's prose (inline code and code blocks left out):
    inline links and images, autolinks, HTML ``href``/``src`` and reference definitions,
    with the line each starts on."""
    found: list[tuple[int, str]] = []
    for start, paragraph in _paragraphs(path):
        # Code spans go, but their line breaks stay, so that line numbers still count.
        text = INLINE_CODE.sub(lambda m: "\n" * m.group(0).count("\n"), paragraph)
        for pattern in (LINK, AUTOLINK, HREF):
            for match in pattern.finditer(text):
                found.append((start + text.count("\n", 0, match.start()), match.group(1)))
        for offset, line in enumerate(text.split("\n")):
            reference = REFERENCE.match(line)
            if reference:
                found.append((start + offset, reference.group(1)))
    return sorted(found, key=lambda item: item[0])  # in page order (stable within a line)


LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".invalid")


def external_problem(target: str) -> str | None:
    """Why ``target`` (a link with a scheme, or ``//host``) is not a public http(s) site,
    or None when it is one."""
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https"):
        return f"a {parts.scheme or 'protocol-relative'} link: only public http(s) sites"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "no host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(LOCAL_SUFFIXES) or "." not in host:
            return f"{host} is not a public site"
        return None
    return None if address.is_global else f"{host} is not a public address"


def _ids(paths: list[Path]) -> list[str]:
    return [_rel(p) for p in paths]


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The links of ``page`` that do not resolve inside ``root``, or that leave it for
    anything but a public http(s) site, one line each."""
    broken: list[str] = []
    for number, target in links(page):
        where = f"{_rel(page)}:{number}: {target}"
        if SCHEME.match(target) or target.startswith("//"):
            problem = external_problem(target)  # a public site is not fetched, only vetted
            if problem is not None:
                broken.append(f"{where}: {problem}")
            continue
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / unquote(file_part)).resolve() if file_part else page
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


def _blocks(language: str) -> list[object]:
    return [
        pytest.param(page, start, text, id=f"{_rel(page)}:{start}")
        for page in DOCS
        for start, info, text in _split(page)[1]
        if info.split()[:1] == [language]
    ]


@pytest.mark.parametrize(("page", "start", "text"), _blocks("toml"))
def test_toml_blocks_parse(page: Path, start: int, text: str) -> None:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{_rel(page)}:{start}: the toml block is not valid TOML: {exc}")


@pytest.mark.parametrize(("page", "start", "text"), _blocks("json"))
def test_json_blocks_parse(page: Path, start: int, text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        line = start + exc.lineno
        pytest.fail(f"{_rel(page)}:{line}: the json block is not valid JSON: {exc.msg}")


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


DOCS_NAMED = re.compile(r"\bdocs/([\w.-]+\.md)")


def test_every_page_the_code_names_exists() -> None:
    """A docstring or comment that sends a reader to ``docs/<page>.md`` names a real page."""
    files = [
        path
        for tree in CODE_TREES
        for path in sorted((ROOT / tree).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".md", ".toml", ".sh"}
    ]
    files += [ROOT / "CHANGELOG.md", *DOCS]
    missing = [
        f"{_rel(path)}:{number}: docs/{name}"
        for path in files
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for name in DOCS_NAMED.findall(line)
        if not (ROOT / "docs" / name).is_file()
    ]
    assert not missing, "no such page:\n" + "\n".join(missing)


def test_the_reference_pages_exist() -> None:
    for name in ("protocol.md", "architecture.md", "protocol-extensions.md"):
        assert (ROOT / "docs" / name).is_file(), name


def _targets(page: Path) -> set[Path]:
    """The files and folders ``page`` links to, resolved (anchors dropped)."""
    found: set[Path] = set()
    for _, target in links(page):
        file_part = target.partition("#")[0]
        if file_part and not SCHEME.match(target) and not target.startswith("//"):
            found.add((page.parent / unquote(file_part)).resolve())
    return found


INDEX = ROOT / "docs" / "README.md"


def test_the_index_lists_every_page() -> None:
    pages = {page.resolve() for page in DOCS if page.parent != ROOT and page != INDEX}
    missing = sorted(_rel(page) for page in pages - _targets(INDEX))
    assert not missing, f"docs/README.md does not link: {', '.join(missing)}"


def test_the_index_lists_every_example() -> None:
    examples = {path.resolve() for path in (ROOT / "examples").iterdir()}
    examples = {path for path in examples if path.name != "__pycache__"}
    missing = sorted(_rel(path) for path in examples - _targets(INDEX))
    assert not missing, f"docs/README.md does not link: {', '.join(missing)}"


def test_the_readme_leads_to_the_index_and_each_story() -> None:
    wanted = ["README.md", "supervision.md", "calling-modules.md", "custom-providers.md"]
    wanted += ["manifest.md", "http-and-jwt.md"]
    missing = [
        name for name in wanted if (ROOT / "docs" / name) not in _targets(ROOT / "README.md")
    ]
    assert not missing, f"README.md does not link docs/{', docs/'.join(missing)}"


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


def test_links_that_wrap_and_autolinks_are_found(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "# P\n\nA [link whose text\nwraps](wrapped.md) and `code\nspan [x](x.md)`,\n"
        "then [another](\n  next.md) and <https://example.org/a>.\n\n[e]: e.md\n"
        '<a href="h.md">h</a> ![i](i.png)\n',
        encoding="utf-8",
    )
    assert links(page) == [
        (3, "wrapped.md"),
        (6, "next.md"),
        (7, "https://example.org/a"),
        (9, "e.md"),
        (10, "i.png"),
        (10, "h.md"),
    ]


def test_only_public_http_sites_are_let_out() -> None:
    for good in ("https://trio.readthedocs.io", "http://example.org/x", "https://8.8.8.8/"):
        assert external_problem(good) is None, good
    for bad in (
        "file:///etc/passwd",
        "mailto:someone@example.org",
        "ftp://example.org/x",
        "//example.org/x",
        "http://localhost:8080/",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "https://10.1.2.3/",
        "https://192.168.0.1/",
        "http://intranet/",
        "http://build.internal/",
        "http://printer.local/",
    ):
        assert external_problem(bad) is not None, bad


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## 3.2 A section\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n"
        "[ok](other.md) [ok](other.md#32-a-section) [ok](#page) [ok](https://example.org/x)\n"
        "[missing](gone.md) [bad anchor](other.md#no-such) [outside](../../elsewhere.md)\n"
        "[absolute](/etc/hosts) [file](file:///etc/hosts) <http://localhost:8000/>\n"
    )
    assert [line.rsplit(": ", 1)[1] for line in broken_links(page, tmp_path)] == [
        "no such file",
        "no heading with the id #no-such",
        "leaves the repository",
        "leaves the repository",
        "only public http(s) sites",
        "localhost is not a public site",
    ]


def test_the_forbidden_names_are_found() -> None:
    hits = [
        "see " + "ARCHITECTURE" + ".md",
        "PROTOCOL" + ".md §3",
        "STYLE" + ".md",
        "../" + "shared/x",
        "../" + "se" + "ed/PHASE2.md",
        "the " + "se" + "ed/" + " folder",
        "notes/" + "deps.md §6",
    ]
    misses = ["tests/" + "se" + "ed/test_x.py", "GET /" + "notes/{note_id}", "docs/x.md"]
    assert all(FORBIDDEN.search(text) for text in hits)
    assert not any(FORBIDDEN.search(text) for text in misses)

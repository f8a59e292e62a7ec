"""Named SQL statements kept in .sql files beside the flow that runs them.

A file holds statements each under a header line `-- name: <name>`, the way procrastinate
keeps its queries.sql:

    -- name: claim_batch
    -- The `--` lines right under the header say what the statement is for; they and the
    -- blank lines around a statement are not part of it. Comments inside it are.
    SELECT ...

A statement may include a fragment of the same file where it writes
`/* include: <name> */` (a clause two statements share is then written once).

`load("workers.inbox")` reads the package's queries.sql once (the first module to ask
parses it, the others share the result) and hands out each statement by name as a plain
string, for the caller to wrap in `sqlalchemy.text`. A name that is missing or defined
twice is an error, as is a header without a statement or text before the first header
that is not a comment.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"--\s*name:(.*)")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_INCLUDE = re.compile(r"/\*\s*include:\s*([a-z_][a-z0-9_]*)\s*\*/")


class SQLFileError(ValueError):
    """A .sql file this module cannot read: a bad or duplicate name, an empty statement."""


class UnknownStatement(LookupError):
    """No statement of that name in the file."""


class Statements:
    """The statements of one .sql file, by name."""

    def __init__(self, source: str, statements: dict[str, str]) -> None:
        self.source = source
        self._statements = statements

    def __getitem__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise UnknownStatement(
                f"no statement named {name!r} in {self.source}"
                f" (it has: {', '.join(sorted(self._statements))})"
            ) from None

    def names(self) -> tuple[str, ...]:
        """The names in the file's order."""
        return tuple(self._statements)

    def __repr__(self) -> str:
        return f"<Statements {self.source}: {len(self._statements)}>"


def parse(text: str, source: str = "<sql>") -> Statements:
    """The statements of a .sql file's text (`source` names it in errors)."""
    statements: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is None:
            if any(line.strip() and not _comment(line) for line in lines):
                raise SQLFileError(f"{source}: SQL before the first '-- name:' header")
            return
        body = _strip_comments(lines)
        if not body:
            raise SQLFileError(f"{source}: statement {name!r} is empty")
        statements[name] = body

    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.fullmatch(line.strip())
        if header is None:
            lines.append(line)
            continue
        close()
        name, lines = header.group(1).strip(), []
        if not _NAME.fullmatch(name):
            raise SQLFileError(f"{source}:{number}: bad statement name {name!r}")
        if name in statements:
            raise SQLFileError(f"{source}:{number}: statement {name!r} defined twice")
    close()
    return Statements(source, _with_includes(statements, source))


def _with_includes(statements: dict[str, str], source: str) -> dict[str, str]:
    def expand(name: str, seen: tuple[str, ...]) -> str:
        if name in seen:
            raise SQLFileError(
                f"{source}: {' -> '.join((*seen, name))} includes itself"
            )

        def fragment(match: re.Match[str]) -> str:
            included = match.group(1)
            if included not in statements:
                raise SQLFileError(f"{source}: {name!r} includes unknown {included!r}")
            return expand(included, (*seen, name))

        return _INCLUDE.sub(fragment, statements[name])

    return {name: expand(name, ()) for name in statements}


@cache
def load(package: str, filename: str = "queries.sql") -> Statements:
    """The statements of `filename` in `package` (e.g. "workers.inbox"), parsed once."""
    path = resources.files(package).joinpath(filename)
    return parse(path.read_text(encoding="utf-8"), f"{package}/{filename}")


def _comment(line: str) -> bool:
    return line.lstrip().startswith("--")


def _strip_comments(lines: list[str]) -> str:
    """The statement: its lines without the blank and comment-only lines around it."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or _comment(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or _comment(lines[end - 1])):
        end -= 1
    return "\n".join(lines[start:end])

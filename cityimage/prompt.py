"""The analyst's interactive prompt: line editing, history, completion, dot-commands, Ctrl-C that cancels.

``readline`` (in the standard library) gives the editing and history, kept in ``~/.cityimage_history``
across sessions; completion offers SQL keywords and the session's views and columns. Ctrl-C abandons
the statement being typed or cancels the query running, and the prompt stays; Ctrl-D or ``.quit``
leaves. The dot-commands are those a DuckDB shell user reaches for first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import duckdb

from warehouse.readonly import interruptible

HISTORY = Path(os.environ.get("CITYIMAGE_HISTORY_FILE", "~/.cityimage_history")).expanduser()
KEYWORDS = ("SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "JOIN", "LEFT JOIN", "USING", "HAVING",
            "DESCRIBE", "SUMMARIZE", "COUNT", "SUM", "AVG", "DISTINCT", "AS", "AND", "OR", "NOT", "NULL", "WITH")
HELP = (".tables               the views of this session\n"
        ".schema VIEW          its columns and types\n"
        ".help                 this list\n"
        ".quit                 leave (or Ctrl-D); Ctrl-C cancels the statement or the query")


def names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The session's views and their columns, for completion."""
    rows = con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()
    return sorted({t for t, _ in rows} | {c for _, c in rows})


def dot_command(con: duckdb.DuckDBPyConnection, line: str) -> str | None:
    """The answer to a dot-command as text, or None when the line is not one we know."""
    word, _, rest = line.strip().partition(" ")
    if word == ".help":
        return HELP
    if word == ".tables":
        rows = con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        return "  ".join(r[0] for r in rows) or "no views: nothing is published yet"
    if word == ".schema":
        rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                           "WHERE $t = '' OR table_name = $t ORDER BY table_name, ordinal_position",
                           {"t": rest.strip()}).fetchall()
        return "\n".join(f"{t}.{c}  {d}" for t, c, d in rows) or f"no view named {rest.strip()!r} (.tables lists them)"
    return None


def _setup_readline(con: duckdb.DuckDBPyConnection) -> Callable[[], None]:
    """Turn on editing, history and completion; returns what saves the history at the end."""
    try:
        import readline
    except ImportError:  # no readline on this platform: a plain prompt still works
        return lambda: None
    words = [*KEYWORDS, *names(con), ".tables", ".schema", ".help", ".quit"]

    def complete(text: str, state: int) -> str | None:
        matches = [w for w in words if w.lower().startswith(text.lower())]
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n,;()=<>'\"")
    readline.parse_and_bind("tab: complete")
    try:
        readline.read_history_file(HISTORY)
    except OSError:
        pass

    def save() -> None:
        try:
            readline.set_history_length(2000)
            readline.write_history_file(HISTORY)
        except OSError:
            pass

    return save


def repl(con: duckdb.DuckDBPyConnection, run: Callable[[str], bool], say: Callable[[str], None]) -> None:
    """Read statements (ending with ';' or a blank line) and hand each to ``run`` until Ctrl-D or .quit."""
    save = _setup_readline(con)
    say("cityimage analyst: the published snapshots as views. End a statement with ';'. "
        ".tables, .schema VIEW, .help; .quit to leave.")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input("... " if buffer else "sql> ")
            except EOFError:
                say("")
                return
            except KeyboardInterrupt:  # abandon what is being typed, keep the session
                say("^C")
                buffer = []
                continue
            if not buffer and line.strip() in (".quit", ".exit", "quit", "exit"):
                return
            if not buffer and line.strip().startswith("."):
                answer = dot_command(con, line)
                say(answer if answer is not None else f"unknown command {line.split()[0]!r}: .help lists them")
                continue
            buffer.append(line)
            if line.rstrip().endswith(";") or (not line.strip() and buffer):
                statement = "\n".join(buffer).strip().rstrip(";")
                buffer = []
                if statement:
                    _run_cancellable(con, run, statement, say)
    finally:
        save()


def _run_cancellable(con: duckdb.DuckDBPyConnection, run: Callable[[str], bool], statement: str,
                     say: Callable[[str], None]) -> None:
    try:
        interruptible(con, lambda: run(statement))
    except KeyboardInterrupt:
        say("query cancelled")

"""The tracking snippet served at /t.js: the readable source, minified once per process.

The minifier is deliberately tiny and deterministic: it drops comments and whitespace outside string
literals, keeping one space only where two words would otherwise join. It relies on the source's rules
(every statement ends with a semicolon; no regular-expression or template literals).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "static" / "tracking" / "t.src.js"
MAX_BYTES = 5 * 1024


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def minify(source: str) -> str:
    out: list[str] = []
    i, n = 0, len(source)
    space = False
    while i < n:
        ch = source[i]
        if ch in "'\"":
            j = i + 1
            while source[j] != ch:
                if source[j] == "\n":
                    raise ValueError(f"unterminated string at offset {i}")
                j += 2 if source[j] == "\\" else 1
            out.append(source[i:j + 1])
            space = False
            i = j + 1
            continue
        if ch == "`":
            raise ValueError("template literals are not supported by this minifier")
        if ch == "/" and source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
            space = True
            continue
        if ch == "/" and source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment")
            i = end + 2
            space = True
            continue
        if ch.isspace():
            space = True
            i += 1
            continue
        if space and out and _is_word(out[-1][-1]) and _is_word(ch):
            out.append(" ")
        space = False
        out.append(ch)
        i += 1
    return "".join(out) + "\n"


@functools.cache
def snippet() -> tuple[bytes, str]:
    """(minified bytes, ETag) of the snippet."""
    body = minify(SOURCE.read_text(encoding="utf-8")).encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'

"""docs/RUNBOOK.md, cut into sections with GitHub's heading anchors.

The console links each panel to its section here, so the runbook that
ships with the build is one click away with no internet (no Markdown
library: each section's text is shown as written).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..config import PROJECT_ROOT

RUNBOOK = PROJECT_ROOT / "docs" / "RUNBOOK.md"


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    anchor: str
    body: str


def anchor(title: str) -> str:
    """GitHub's slug: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@functools.cache
def sections() -> tuple[Section, ...]:
    if not RUNBOOK.is_file():
        return ()
    found: list[Section] = []
    level, title, lines = 1, "", list[str]()
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(#{1,4}) (.+)$", line)
        if heading:
            if title:
                found.append(Section(level, title, anchor(title), "\n".join(lines).strip()))
            level, title, lines = len(heading.group(1)), heading.group(2).strip(), []
        else:
            lines.append(line)
    if title:
        found.append(Section(level, title, anchor(title), "\n".join(lines).strip()))
    return tuple(found)

"""A rich Console that never lets stored text drive the terminal.

Memories, A2A messages and replies are data from customers and agents. Printed raw, an
ESC sequence in one of them could clear the operator's screen, retitle the window or
forge output. Every segment of text is neutralized here, at the one place all output
passes, whatever table or panel holds it; rich's own control segments (the spinner's
cursor moves) and styles are untouched, as they are produced by rich, not by data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 (but newline and tab) and C1 control characters, DEL included."""


def neutralize(text: str) -> str:
    """Control characters shown as visible escapes: ESC becomes \\x1b."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeConsole(Console):
    """rich.Console whose text segments pass through `neutralize` before output."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # The one place every printed segment passes (rich renders styles after this).
        safe = (
            segment if segment.control else Segment(neutralize(segment.text), segment.style)
            for segment in buffer
        )
        return super()._render_buffer(safe)

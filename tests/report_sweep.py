"""Test helpers for reports: a small sweep run on the simulator (hostile prompt and experiment
name included), and a strict structural reading of the HTML a report writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from simhelpers import image_bytes, running_stack

from vidu_nb import Img2VideoRequest
from vidu_nb.request.sweep import sweep

HOSTILE_PROMPT = '</script><script>alert("p")</script><img src=x onerror=alert(1)> & "fox"'
CALM_PROMPT = "waves roll onto the beach at dusk"
HOSTILE_EXPERIMENT = "exp \"><svg onload=alert('e')>"


@contextmanager
def swept(folder: Path, *, duration: int = 2, video_height: int = 96) -> Iterator[Any]:
    """A finished sweep of 4 short tasks (2 prompts x 2 seeds), videos downloaded; yields
    ``(run, log, client, sim)``."""
    from vidu_nb.ui import run_sweep

    with running_stack(folder, speed=60, video_height=video_height) as (sim, client, log, poller):
        base = Img2VideoRequest(image=image_bytes(), model="viduq2-turbo", duration=duration)
        plan = sweep(base, prompts=[HOSTILE_PROMPT, CALM_PROMPT], seeds=[1, 2])
        run = run_sweep(plan, poller=poller, experiment=HOSTILE_EXPERIMENT, grid=False)
        run.wait(120)
        assert poller.wait_all(120)  # the videos are downloaded too
        yield run, log, client, sim


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


@dataclass
class Parsed:
    """What a strict reading of the page found."""

    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]  # fmt: skip

    @property
    def handlers(self) -> list[tuple[str, str]]:
        """Event-handler attributes (``on...``): the page must have none."""
        return [(t, k) for t, a in self.tags for k in a if k.lower().startswith("on")]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found = Parsed()
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "script":
            self.found.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"end tag of void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.found.scripts[-1] += data
        elif self.stack and self.stack[-1] != "style":
            self.found.text.append(data)


def read_html(text: str) -> Parsed:
    """Parse ``text``, failing on any tag left open or closed out of order."""
    assert text.startswith("<!DOCTYPE html>")
    reader = _Reader()
    reader.feed(text)
    reader.close()
    assert not reader.errors, reader.errors[:5]
    assert not reader.stack, f"left open: {reader.stack}"
    return reader.found

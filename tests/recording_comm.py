"""A stand-in for the browser side of widget comms: records what the kernel sends.

ipywidgets 8 widgets work without a kernel (their comm is a dummy); swapping in this recording
comm (the ``frontend`` fixture) lets tests see custom messages and binary buffers, and send
messages "from the browser".
"""

from __future__ import annotations

from typing import Any

from comm.base_comm import BaseComm


class RecordingComm(BaseComm):
    sent: list[tuple[dict[str, Any], list[bytes]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):  # noqa: ANN001
        if msg_type == "comm_msg" and data and data.get("method") == "custom":
            self.sent.append((data["content"], [bytes(b) for b in buffers or []]))

    def from_browser(self, content: dict[str, Any]) -> None:
        self.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )

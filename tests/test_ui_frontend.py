"""The stand-in for the browser side of widget comms (``recording_comm``, the ``frontend``
fixture) sees what the kernel sends."""

from __future__ import annotations


def test_recording_comm_sees_custom_messages_and_buffers(frontend):
    import ipywidgets as widgets

    w = widgets.Button()
    w.send({"hello": 1}, buffers=[b"\x00\x01"])
    assert w.comm.sent == [({"hello": 1}, [b"\x00\x01"])]

"""States the service documents nowhere (``scheduled``, ``preparation``, ``canceled``) and ones
it may add later are shown as they are on cards, grids, sweep progress and the credits view:
nothing crashes, a cancelled spelling is final, any other unknown state is still followed."""

from __future__ import annotations

import pytest
from ui_standin import stand_in

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.request.sweep import SweepPlan
from vidu_nb.ui import compare, credits_table, credits_view, show
from vidu_nb.ui.card import _TICKER, TaskCard
from vidu_nb.ui.rows import TaskView
from vidu_nb.ui.session import Session
from vidu_nb.ui.sweeps import SweepRun

ODD = ("scheduled", "preparation", "canceled", "Galaxy-Brain", "cancelled")


@pytest.fixture
def odd_log(log, png_bytes):
    """A log with one off-peak task in each odd state, as a stand-in service reported them."""
    with stand_in() as stand:
        client = ViduClient("sk-standin-0123456789", stand.url, max_retries=0)
        request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2, off_peak=True)
        ids = {}
        for state in ODD:
            task = client.submit(request)
            log.record_submission(request, task, experiment="odd")
            stand.tasks[task.id] = {"state": state}
            log.update(client.get(task.id))
            ids[state] = task.id
        yield client, log, ids, request


def test_cards_show_odd_states_as_the_service_spelled_them(odd_log):
    client, log, ids, _request = odd_log
    cards = {state: TaskCard(tid, log=log, client=client) for state, tid in ids.items()}
    for state, card in cards.items():
        assert card.view.state == state  # kept as sent, not mapped to a known one
        assert f">{state}</span>" in card._header.value  # the badge names it
    for state in ("canceled", "cancelled"):  # final: full bar, no cancel, no ticking clock
        card = cards[state]
        assert card.view.done and card._bar.value == card._bar.max
        assert card._bar.bar_style == "warning" and card._cancel.layout.display == "none"
        assert card not in _TICKER._cards
        assert card._steps.value.endswith(f"<b>{state}</b>")
    for state in ("scheduled", "preparation", "Galaxy-Brain"):  # open: still followed
        card = cards[state]
        assert not card.view.done and card._bar.bar_style == "info"
        assert card._cancel.layout.display is None  # an unfinished off-peak task
        # The waiting step is named as the service named it, and reached.
        assert card._steps.value.startswith(f"<b>created</b> \u203a <b>{state}</b> \u203a ")
        assert "vidu-card-todo'>processing" in card._steps.value


def test_grids_sweep_progress_and_credits_take_odd_states(odd_log):
    client, log, ids, request = odd_log
    frame = log.to_frame()
    grid = compare(frame, log=log, client=client)
    assert len(grid.items) == len(ODD)
    assert len(compare(frame, rows="state", log=log).row_titles) == len(ODD)
    assert len(show(list(ids.values()), log=log).items) == len(ODD)
    run = SweepRun(SweepPlan([request] * len(ODD)), Session(client, log), "odd", grid=False)
    run.handles.extend(ids.values())
    run.update()
    assert run.counts() == dict.fromkeys(ODD, 1)
    assert run.bar.value == 2 and not run.done  # the two cancelled spellings are final
    assert run.text.value.startswith("2/5 finished (")
    assert all(state in run.text.value for state in ODD)
    html = credits_table(log, "state").to_html()
    assert all(f">{state}<" in html for state in ODD)
    assert "vidu-credits" in credits_view(log)._dom_classes


@pytest.mark.parametrize("state", ["", "unknown", "Success ", "CANCELED"])
def test_any_state_text_has_a_step_and_a_style(state):
    view = TaskView({"task_id": "t1", "state": state})
    card = TaskCard(view)
    assert card._bar.value == view.progress()[0]
    assert card.view.done == (state.strip().lower() in ("success", "canceled"))


def test_sweep_progress_words_tell_our_queue_from_the_services(log, png_bytes):
    """ "queued" (held here, not sent) and "queueing" (the service's queue) read alike: the
    progress line says "waiting to send" and "in the service's queue", in the order a task
    passes them, with the raw states on hover; ``counts()`` keeps the raw states."""
    import re

    with stand_in() as stand:
        client = ViduClient("sk-standin-0123456789", stand.url, max_retries=0)
        request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        handles = ["a-ref-not-sent-yet"]  # a handle the log has no task for yet: queued
        for state in ("success", "processing", "queueing", "queueing", "canceled", "cancelled"):
            task = client.submit(request)
            log.record_submission(request, task)
            stand.tasks[task.id] = {"state": state}
            log.update(client.get(task.id))
            handles.append(task.id)
        run = SweepRun(SweepPlan([request] * len(handles)), Session(client, log), "w", grid=False)
        run.handles.extend(handles)
        run.update()
    assert run.counts()["queued"] == 1 and run.counts()["queueing"] == 2  # data: raw states
    text = re.sub(r"<[^>]+>", "", run.text.value).replace("&#x27;", "'")
    assert text == (
        "3/7 finished (1 waiting to send, 2 in the service's queue, 1 generating, 1 done, "
        "2 cancelled)"
    )
    assert "title='queued'>1 waiting to send<" in run.text.value
    assert "title='canceled, cancelled'>2 cancelled<" in run.text.value

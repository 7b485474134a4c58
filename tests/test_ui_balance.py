"""The account balance before spending: shown by the form and the sweep panel, fetched on a
background thread (a slow service never holds the form up), refreshed after submits, a short
note when the service does not offer it; a sweep estimated above it needs a confirmation."""

from __future__ import annotations

import threading

import pytest
from simhelpers import running_stack
from ui_standin import StandIn, stand_in
from waiting import until

from vidu_nb import Img2VideoRequest, ValidationError, ViduClient
from vidu_nb.request.sweep import sweep
from vidu_nb.ui import form, run_sweep
from vidu_nb.ui.sweeps import plan_credits

ACCOUNT = {
    "remains": [
        {"type": "metered", "credit_remain": 12000, "concurrency_limit": 5,
         "current_concurrency": 2, "queue_count": 3},
        {"type": "test", "credit_remain": 500},
    ]
}  # fmt: skip


def client_of(stand: StandIn) -> ViduClient:
    return ViduClient("sk-standin-0123456789", stand.url, max_retries=0)


def test_the_form_is_built_while_the_credits_endpoint_is_slow(log):
    gate = threading.Event()
    with stand_in(StandIn(credits=(200, ACCOUNT), credits_gate=gate)) as stand:
        f = form(client_of(stand), log)  # returns while the service holds the request
        assert until(lambda: stand.count("GET", "/credits") == 1)
        assert "checking" in f.balance_html.value and f.session.balance.busy
        assert f.controls["prompt"] is not None and "vidu-form" in f._dom_classes
        gate.set()
        assert until(lambda: "12,500" in f.balance_html.value)
    assert "running 2 of 5" in f.balance_html.value and "3 queued" in f.balance_html.value
    assert not f.session.balance.busy


@pytest.mark.parametrize(
    "answer, note",
    [
        ((404, {"code": 404, "reason": "NotFound", "message": "<no route>"}), "not offered"),
        ((500, {"code": 500, "reason": "InternalServiceFailure"}), "unavailable (HTTP 500)"),
        ((200, ["not", "an", "object"]), "balance unavailable ("),
    ],
)
def test_no_balance_is_a_short_note_not_an_error(log, png_bytes, answer, note):
    with stand_in(StandIn(credits=answer)) as stand:
        f = form(client_of(stand), log)
        assert until(lambda: note in f.balance_html.value)
        assert "vidu-inactive" in f.balance_html.value and "<no" not in f.balance_html.value
        asked = stand.count("GET", "/credits")
        f.session.balance.refresh()
        if answer[0] == 404:  # a service without the endpoint is not asked again
            assert stand.count("GET", "/credits") == asked and not f.session.balance.busy
        f.state.image_data = png_bytes
        f.state.model, f.state.duration = "viduq2-turbo", 2
        plan = f.sweep_panel.make_plan()  # a sweep is planned as before
        assert plan is not None and not f.sweep_panel.submit_button.disabled
        run_sweep(plan, client=f.session.client, log=log, grid=False).session.poller.stop()
        assert len(log) == 1  # an unknown balance is no reason to refuse


def test_a_client_without_an_account_reader_gets_a_note(log):
    class Bare:  # a stand-in transport without the account endpoints
        is_simulated = False
        base_url, auth_scheme = "https://example.org", "Token"

    f = form(Bare(), log)
    assert until(lambda: "not offered by this client" in f.balance_html.value)


@pytest.fixture
def funded(tmp_path):
    with running_stack(tmp_path, speed=60, video_height=96, credits=1000) as stack:
        yield stack


def test_the_balance_is_refreshed_after_a_submit(funded, png_bytes):
    sim, client, log, poller = funded
    f = form(client, log, poller)
    assert until(lambda: "1,000</b> credits" in f.balance_html.value)
    assert "(simulated)" in f.balance_html.value
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    card = f.submit()
    assert until(lambda: card.task_id)
    left = sim.balance()
    assert left < 1000
    assert until(lambda: f"{left:,}</b> credits" in f.balance_html.value)
    assert poller.wait_all(30)


def test_a_sweep_over_the_balance_is_refused_unless_confirmed(funded, png_bytes):
    sim, client, log, poller = funded
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    plan = sweep(base, seeds=[1, 2, 3])
    estimate = plan_credits(plan, log)
    sim.set_balance(estimate - 1)
    with pytest.raises(ValidationError) as caught:
        run_sweep(plan, poller=poller)
    assert caught.value.field == "confirm"
    text = str(caught.value)
    assert f"about {estimate:,} credits" in text and f"balance of {estimate - 1:,}" in text
    assert len(log) == 0  # nothing was sent
    run = run_sweep(plan, poller=poller, confirm=True, grid=False)
    assert len(log) == 3
    run.wait(30)


def test_the_sweep_panel_confirms_a_plan_over_the_balance(funded, png_bytes):
    sim, client, log, poller = funded
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    panel = f.sweep_panel
    assert until(lambda: "1,000</b> credits" in panel.balance_html.value)
    panel.seeds.value = "1, 2, 3"
    estimate = plan_credits(panel.make_plan(), log)
    assert panel.submit_button.description == "Submit sweep"
    sim.set_balance(estimate - 1)
    panel.make_plan()  # reads the balance again, in the background
    button = f"Confirm {estimate:,} (balance {estimate - 1:,})"
    assert until(lambda: panel.submit_button.description == button)
    assert "vidu-sweep-confirm" in panel.submit_button._dom_classes
    assert f"more than the balance of {estimate - 1:,}" in panel.summary.value
    assert f"the estimate is {estimate:,}" in panel.summary.value
    panel.submit_button.click()  # the click is the confirmation
    (run,) = panel.runs.children
    assert len(log) == 3
    run.wait(30)


def test_queued_cards_and_the_sweep_say_why_sending_paused(tmp_path, png_bytes):
    # Each 2 s viduq2-turbo task costs the simulator 2 credits: the second one is refused.
    with running_stack(tmp_path, speed=60, video_height=96, credits=3) as stack:
        sim, client, log, poller = stack
        f = form(client, log, poller)
        f.state.image_data = png_bytes
        f.state.model, f.state.duration = "viduq2-turbo", 2
        cards = [f.submit() for _ in range(3)]
        assert until(lambda: poller.paused_reason is not None)
        # One was charged; the refused one (back in the queue) and the one behind it wait.
        assert until(lambda: sum(c.waiting for c in cards) == 2)
        waiting = [c for c in cards if c.waiting]
        for card in waiting:  # each says why, in its own words or the queue's
            assert until(lambda card=card: "sending paused" in card._error.value)
            assert "CreditInsufficient" in card._error.value
        assert sum("not sent yet" in c._error.value for c in waiting) == 1
        assert until(lambda: "balance <b>1</b> credits" in f.balance_html.value)
        base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        run = run_sweep(sweep(base, seeds=[1, 2]), poller=poller, confirm=True, grid=False)
        assert "sending paused" in run.text.value
        sim.set_balance(100)
        poller.resume_sending()
        assert until(lambda: all(c.view.done for c in cards))
        assert [c.view.state for c in cards] == ["success"] * 3
        assert all(c._error.value == "" for c in cards)  # the notes went with the pause
        run.wait(30)
        assert "sending paused" not in run.text.value

"""Bad input to the UI's public functions raises a ``ValidationError`` naming the argument,
before anything is sent; what they do accept (a task id or handle the log holds, a list of
requests as a sweep plan) works."""

from __future__ import annotations

import pytest

from vidu_nb import Img2VideoRequest, ValidationError, ViduError
from vidu_nb.request.sweep import SweepPlan
from vidu_nb.ui import (
    TaskCard,
    compare,
    credits_figure,
    credits_table,
    credits_view,
    run_sweep,
    show,
)


@pytest.mark.parametrize("fn", [show, compare])
@pytest.mark.parametrize("bad", [42, None, 3.5, b"t1", object()])
def test_show_and_compare_refuse_what_is_not_tasks(fn, bad, log):
    with pytest.raises(ValidationError) as caught:
        fn(bad, log=log)
    assert caught.value.field == "tasks" and "a task id" in caught.value.limit


@pytest.mark.parametrize("bad", [[1, 2], [{"task_id": "t1"}, None], [{"task_id": "t1"}, 7]])
def test_a_list_with_something_that_is_not_a_task_is_refused(bad):
    with pytest.raises(ValidationError) as caught:
        compare(bad)
    assert caught.value.field == "tasks" and "each item" in caught.value.limit


def test_a_task_id_is_shown_only_when_the_log_holds_it(live, png_bytes):
    _sim, client, log, poller = live
    with pytest.raises(ValidationError, match="give log= as well") as caught:
        show("not-a-task-id")
    assert caught.value.field == "tasks"
    with pytest.raises(ValidationError, match="no such task id") as caught:
        show("not-a-task-id", log=log)
    assert caught.value.value == "not-a-task-id"
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    handle = poller.submit(request)
    assert poller.wait_all(30)
    task_id = log.get_by_ref(handle)["task_id"]
    for given in (task_id, handle, [task_id, handle]):  # the id, or what Poller.submit returned
        grid = show(given, log=log, client=client)
        assert {item["key"].split(":", 1)[1] for item in grid.items} == {task_id}
    assert show(client.get(task_id)).items[0]["key"] == f"0:{task_id}"  # from the service


def test_run_sweep_takes_a_list_of_requests_as_its_plan(live, png_bytes):
    sim, client, log, poller = live
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    requests = [base.replace(seed=1), base.replace(seed=2)]
    for bad, field in (
        (base, "plan"),
        ([], "plan"),
        (SweepPlan(), "plan"),
        ([base, {"seed": 3}], "plan[1]"),
        ("a fox", "plan"),
        (None, "plan"),
    ):
        with pytest.raises(ValidationError) as caught:
            run_sweep(bad, poller=poller)
        assert caught.value.field == field
    assert len(log) == 0 and not any(r.method == "POST" for r in sim.requests)
    run = run_sweep(requests, poller=poller, experiment="listed", grid=False)
    assert isinstance(run.plan, SweepPlan) and run.plan.varying == ["seed"]
    run.wait(30)
    assert run.counts() == {"success": 2}
    assert len(run.compare().items) == 2


@pytest.mark.parametrize("fn", [credits_view, credits_table, credits_figure])
@pytest.mark.parametrize("bad", [None, "tasks.sqlite", 42])
def test_the_credits_views_refuse_what_is_not_a_task_log(fn, bad):
    with pytest.raises(ValidationError) as caught:
        fn(bad)
    assert caught.value.field == "log" and "TaskLog" in caught.value.limit


def test_a_card_refuses_what_is_not_a_task():
    with pytest.raises(ViduError) as caught:
        TaskCard(42)
    assert caught.value.field == "task"

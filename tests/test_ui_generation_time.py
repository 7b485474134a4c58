"""One definition of "generation time": the players' "generated in" and the log's
``generation_s`` are the same figure (processing time, from submission when the log never
saw the task processing), on tasks a stand-in service moved through their states."""

from __future__ import annotations

import time

from ui_standin import stand_in

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.ui import compare
from vidu_nb.ui.player import meta_lines
from vidu_nb.ui.rows import TaskView, fmt_seconds


def test_generated_in_is_the_logs_generation_s(log, png_bytes):
    with stand_in() as stand:
        client = ViduClient("sk-standin-0123456789", stand.url, max_retries=0)
        request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        seen, unseen = client.submit(request), client.submit(request)
        for task in (seen, unseen):
            log.record_submission(request, task)
        time.sleep(0.3)  # queueing: counted in the wall time, not in the generation time
        stand.tasks[seen.id] = {"state": "processing"}
        log.update(client.get(seen.id))
        time.sleep(0.3)
        for task in (seen, unseen):  # the second one was never seen processing
            stand.tasks[task.id] = {"state": "success"}
            log.update(client.get(task.id))
    frame = log.to_frame()
    df = frame.set_index("task_id")
    for task in (seen, unseen):
        expected = float(df.loc[task.id, "generation_s"])
        frame_row = frame[frame["task_id"] == task.id].iloc[0]
        for view in (TaskView.of(task.id, log), TaskView.of(frame_row)):  # a log row, a df row
            assert abs(view.generation_seconds() - expected) < 1e-3
        assert f"generated in {fmt_seconds(expected)}" in meta_lines(TaskView.of(task.id, log))[0]
    # Processing time for the one seen processing; from submission for the other.
    assert df.loc[seen.id, "generation_s"] < df.loc[seen.id, "wall_time_s"] - 0.2
    assert abs(df.loc[unseen.id, "generation_s"] - df.loc[unseen.id, "wall_time_s"]) < 1e-3
    grid = compare(log.to_frame(), log=log)
    shown = {item["key"].split(":", 1)[1]: item["meta"][0] for item in grid.items}
    assert f"generated in {fmt_seconds(df.loc[seen.id, 'generation_s'])}" in shown[seen.id]

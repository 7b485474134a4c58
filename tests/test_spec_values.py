"""Request values as users hand them over: DataFrame cells of the task log, other spellings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vidu_nb import IgnoredFieldWarning, Img2VideoRequest, ValidationError
from vidu_nb.client import ViduClient
from vidu_nb.request.models import get_model
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog


@pytest.fixture(scope="module")
def sim():
    with Simulator(host="127.0.0.1", speed=40.0, video_height=64, seed=3) as server:
        yield server


def test_rerun_a_row_of_the_task_log(sim, tmp_path, png_path):
    """A row of ``log.df`` gives numpy ints and bools and pd.NA; re-running it must work."""
    first = Img2VideoRequest(image=png_path, duration=2, seed=77, resolution="540p", audio=False)
    with ViduClient.for_simulator(sim, timeout=(2, 5)) as client, TaskLog(tmp_path / "t.db") as log:
        log.record_submission(first, client.submit(first))
        row = log.df.iloc[-1]
        assert isinstance(row["duration"], np.integer)  # what pandas hands over
        assert isinstance(row["audio"], np.bool_)
        again = Img2VideoRequest(
            image=png_path,
            model=row["model"],
            prompt=row["prompt"],  # pd.NA: no prompt was given
            duration=row["duration"],
            seed=row["seed_requested"],
            resolution=row["resolution"],
            audio=row["audio"],
            off_peak=row["off_peak"],
        )
        assert again.options() == {**first.options(), "off_peak": False}
        assert type(again.duration) is int and type(again.seed) is int
        assert type(again.audio) is bool
        json.dumps(again.to_body())  # numpy values are not JSON
        task = client.submit(again)
        log.record_submission(again, task)
        stored = log.df.iloc[-1]
        assert stored["seed_requested"] == 77 and stored["duration"] == 2
        assert json.loads(stored["options"])["seed"] == 77  # not the string "77"


def test_unset_cells_are_unset(png_bytes):
    r = Img2VideoRequest(image=png_bytes, seed=pd.NA, duration=float("nan"), prompt=pd.NA)
    assert r.seed is None and r.duration is None and r.prompt is None
    assert set(r.to_body()) == {"model", "images"}


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"duration": True}, "duration"),
        ({"seed": np.True_}, "seed"),
        ({"audio": np.int64(1)}, "audio"),
        ({"seed": np.int64(-1)}, "seed"),
        ({"duration": np.float64(5.5)}, "duration"),
    ],
)
def test_bools_are_not_ints_and_ints_are_not_bools(png_bytes, kw, field):
    with pytest.raises(ValidationError) as exc:
        Img2VideoRequest(image=png_bytes, **kw)
    assert exc.value.field == field


def test_names_with_other_case_or_spaces(png_bytes):
    with pytest.warns(IgnoredFieldWarning, match="movement_amplitude"):
        r = Img2VideoRequest(
            image=png_bytes,
            model=" ViduQ2-Turbo",
            resolution="1080P ",
            audio=True,
            audio_type="Speech_Only",
            movement_amplitude="Large",
        )
    assert (r.model, r.resolution, r.audio_type) == ("viduq2-turbo", "1080p", "speech_only")
    assert r.to_body()["movement_amplitude"] == "large"
    assert get_model("VIDUQ1 ").name == "viduq1"
    with pytest.raises(ValidationError):
        get_model(["viduq1"])  # type: ignore[arg-type]


def test_replace_with_new_images_list(png_bytes):
    from conftest import make_image

    other = make_image(200, 400)
    r = Img2VideoRequest(image=png_bytes, seed=1).replace(images=[other], seed=np.int64(2))
    assert (r.start_image.width, r.start_image.height, r.seed) == (200, 400, 2)
    with pytest.raises(ValidationError):
        r.replace(duration=np.int64(99))  # still checked


def test_prompt_with_half_an_emoji_is_refused_before_the_log(png_bytes, tmp_path):
    """A lone surrogate cannot be stored (SQLite needs UTF-8) nor sent: refuse it up front."""
    whole = Img2VideoRequest(image=png_bytes, prompt="a fox \U0001f98a" * 2)
    with TaskLog(tmp_path / "t.db") as log:
        log.record_queued(whole, "ref-1", owner="me")
        assert log.df.iloc[-1]["prompt"] == whole.prompt
    with pytest.raises(ValidationError) as exc:
        Img2VideoRequest(image=png_bytes, prompt="a fox \ud83e")
    assert exc.value.field == "prompt" and "surrogate" in str(exc.value)

"""The build backend: setuptools', with the data files in editable installs too.

vidu-nb installs one data file, ``etc/jupyter/jupyter_server_config.d/vidu_nb.json``, which
enables its Jupyter server extension (the pre-save hook that saves each widget's still apart)
in every Jupyter server of the environment. A regular wheel carries it; setuptools' editable
wheel (``pip install -e .``, what ``make`` does) means to as well (its ``editable_wheel`` runs
``install_data`` when the distribution ``has_data``), but the distribution answers that
question only as ``has_data_files``, so the file was left out and a server started from a
development install never loaded the hook. Giving the question its other name puts the file
in the editable wheel exactly as in the regular one; a setuptools that fixes it is left alone.
"""

from setuptools.build_meta import *  # noqa: F403 - the backend is setuptools' own
from setuptools.dist import Distribution

if not hasattr(Distribution, "has_data"):
    Distribution.has_data = Distribution.has_data_files  # type: ignore[attr-defined]

"""FiFa's dataset builders: versioned `datasets` builders, the build that runs them, the card and the upload.

* :mod:`.features`: the `datasets.Features` of every config;
* :mod:`.splits`: train / validation / test by source photo, and build slices;
* :mod:`.work`: stage 1, annotating every pair once and cutting every config's rows from it;
* :mod:`.fifa`: the configs, their versions and the tables that hold them; the ``fict`` builder;
* :mod:`.parquet`: the ``pairs`` and ``tasks`` parquet files, each image once per row group;
* :mod:`.card`: the dataset card;
* :mod:`.build`: the whole build, atomic, and the merge of slice builds;
* :mod:`.distributed`: the build as datatrove tasks (local, Slurm, Ray), slices then the merge;
* :mod:`.push`: the upload to the Hub.

It imports ``fifa_data`` (the annotator and the task rows run in stage 1); ``fifa_data`` and
``model`` never import it.
"""

from .build import BUILD_FILE, BuildError, BuildOptions, BuildReport, EmptyBuild, build, data_files, fingerprint, merge_builds
from .fifa import CONFIGS, MIXES, TABLES, VERSIONS

__all__ = [
    "BUILD_FILE",
    "BuildError",
    "EmptyBuild",
    "CONFIGS",
    "MIXES",
    "TABLES",
    "VERSIONS",
    "BuildOptions",
    "BuildReport",
    "build",
    "data_files",
    "fingerprint",
    "merge_builds",
]

"""FiFa's dataset builders: versioned `datasets` builders, the build that runs them, the card and the upload.

* :mod:`.features`: the `datasets.Features` of every config;
* :mod:`.splits`: train / validation / test by source photo, and build slices;
* :mod:`.annotation_stage`: stage 1, `annotate_source` over planned units of pairs, in worker processes;
* :mod:`.pair_rows`: the ``pairs`` config's rows;
* :mod:`.configs`: the configs, their versions and the folders that hold them; the ``fict`` builder;
* :mod:`.parquet`: the ``pairs`` and ``tasks`` parquet files, each image once per row group;
* :mod:`.card`: the dataset card;
* :mod:`.build`: the whole build, atomic, and the merge of slice builds;
* :mod:`.distributed`: the build as datatrove tasks (local, Slurm, Ray), slices then the merge;
* :mod:`.push`: the upload to the Hub.

It imports ``fifa_data`` (``annotate_source`` runs in stage 1); ``fifa_data``, ``model`` and
``explorer`` never import it.
"""

from builders.build import BUILD_FILE, BuildError, BuildOptions, BuildReport, EmptyBuild, build, data_files, fingerprint, merge_builds
from builders.configs import MIXES, TABLES, VERSIONS
from fifa_data.core.schema import CONFIGS

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

"""FiFa-Bench: every FiFa-11 metric of any system's answers on benchmark rows.

``predictions`` (the prediction file), ``parse`` (a free-text answer in structured form),
``metrics`` and ``captions`` (the metrics), ``concept_cache`` (concept masks of benchmark images,
once each), ``score`` (all of it per task) and ``baselines`` (the trivial systems). It imports
``core`` and ``faces`` only: never the simulator, the annotator or the task generators.
"""

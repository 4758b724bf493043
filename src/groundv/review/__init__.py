"""Human review of a generated dataset: ``groundv review`` (a local web app) and its log, queue and statistics.

* :mod:`~groundv.review.reviews`: ``reviews.jsonl``, the append-only log of every reviewer action;
* :mod:`~groundv.review.queue`: queues stratified by category and source, one or two blind reviewers;
* :mod:`~groundv.review.agreement`: acceptance and Cohen's κ per category;
* :mod:`~groundv.review.pictures`: the page's PNG layers, rendered from RLE and cached in the dataset;
* :mod:`~groundv.review.session`: all of it for one dataset folder;
* :mod:`~groundv.review.app`: the FastAPI app and its static page (needs the ``review`` extra).

``groundv split DIR --test-from-reviews`` (:mod:`groundv.split`) turns the verdicts into the test split.
"""

"""QA workflows: what a labeling lead does with the metrics of `bridge.qa`.

One pass over the items of one or several sources feeds a set of *accumulators*, each
holding counters (never all items) and giving its part of the QA report at the end:

| module | job |
|---|---|
| `items` | the view of one item the accumulators share: its sets split into human, gold and prediction sets, each with its annotator's name and its source |
| `sources` | opening several sources and joining their items by key (a temporary SQLite spool) |
| `scratch` | the temporary SQLite database the join, the consistency index and the sample use |
| `defects` | defect rate from review statuses, reviews and submission-vs-accepted diffs |
| `consistency` | identical items labeled differently, answers outside the ontology, regions outside the media |
| `imbalance` | class distribution per split, imbalance ratio, classes under a threshold |
| `sampling` | a seeded, stratified review sample (by annotator and class) |
| `active` | what to label next: items ranked by uncertainty or disagreement |
| `agreement` | inter-annotator agreement per annotator pair: regions, spans, tracks, answers, kappa, alpha (the `bridge.qa` metrics) |
| `gold_scores` | precision, recall, F1 and the confusion matrix against gold (`bridge.qa.gold`) |
| `gallery` | the most-disagreed items, kept to be drawn |
| `shapes` | the points that outline a shape, for bounds checks and drawing |
| `scorecards` | one row per annotator and source tool |
| `gates` | `--fail-under` quality gates (exit code 7) |
| `run` | the pass itself: `run_qa(...)` -> the report (a JSON-ready dict) |
"""

"""CoNLL-2003 / BIO token-per-line files for label-bridge: named-entity spans on text."""

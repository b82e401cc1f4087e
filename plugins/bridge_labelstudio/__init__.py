"""label-bridge plugin for Label Studio: label configs, JSON export files and the live API.

* `config`: label config XML <-> unified ontology.
* `convert` (+ `read_results`, `write_results`): tasks <-> unified Items.
* `files`: the streaming JSON export reader/writer, the `labelstudio` file format.
"""

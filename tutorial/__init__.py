"""The tutorial's tooling: what a teacher or a learner runs around the notebooks (the classroom live view).

`sandbox/tutorial.py` (the notebooks' setup and runner) and its companions will move here; the deployed code
(`lambda_function.py`) and the offline sandbox (`sandbox/`) stay where they are.
"""

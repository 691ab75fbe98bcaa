"""The tutorial's tooling: what a teacher or a learner runs around the notebooks, on top of the sandbox.

Each notebook's setup cell is `import tutorial` then `AMBIENTE = tutorial.configure("NN", AMBIENTE, CONTA_AWS)`;
the cell that names the resources starts from `PREFIX = tutorial.prefixo()`. The parts:
`contract` (the names the notebooks create), `setup` (configure, catch-up), `runner` (the notebook runner),
`control` (the Telegram emulator's control routes), `permissions`, `demo`, `bridge`, `harness` (what tests and
benchmarks share) and `live` (the classroom live view); `python -m tutorial` is their command line. The offline
sandbox (`sandbox/`) never imports this package.
"""

from tutorial.setup import ConfigurationError, configure, prefixo

__all__ = ["ConfigurationError", "configure", "prefixo"]

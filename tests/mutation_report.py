"""`make mutation`'s verdict: mutmut's score over lambda_function.py, and every surviving mutant either justified in
tests/mutation_survivors.txt or shown with its diff (the make target then fails).

A survivor is a fault no test noticed. Each one is a missing test, or a mutant that changes nothing a user could see
(equivalent) or nothing that matters (harmless): only those last two belong in the list, each with its reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUSTIFIED = Path(__file__).with_name("mutation_survivors.txt")
MUTMUT = [sys.executable, "-m", "mutmut"]


def results() -> dict[str, str]:
    """mutant name -> status ("killed", "survived", "timeout", "not checked", ...), as `mutmut results` says."""
    out = subprocess.run(
        [*MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"^\s*(\S+): (.+?)\s*$", out, re.M))


def justified() -> dict[str, str]:
    """name -> reason, from lines `name  # reason` (blank lines and lines starting with # are notes)."""
    entries = {}
    for line in JUSTIFIED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, reason = line.partition("#")
            entries[name.strip()] = reason.strip()
    return entries


def main() -> int:
    statuses = results()
    counts = Counter(statuses.values())
    checked = sum(n for status, n in counts.items() if status != "not checked")
    caught = counts["killed"] + counts["timeout"]
    print(
        f"mutantes: {len(statuses)}; testados: {checked}; "
        + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))
    )
    if checked:
        print(f"pegos pelos testes: {caught} de {checked} ({100 * caught / checked:.1f}%)")
    reasons = justified()
    unexplained = [name for name, status in statuses.items() if status == "survived" and name not in reasons]
    for name in unexplained:
        print(subprocess.run([*MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True).stdout)
    if unexplained:
        print(f"Erro: {len(unexplained)} mutante(s) sobreviveram sem justificativa em {JUSTIFIED.name}.")
        return 1
    print(f"Sobreviventes justificados: {sum(statuses.get(n) == 'survived' for n in reasons)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reading the emulated bot's updates as a polling bot does, so a generated conversation plays out."""


def read_all(tg) -> list[dict]:
    """Every update until the queue stays empty, confirming each batch (a generated week happens meanwhile)."""
    seen: list[dict] = []
    while batch := tg.pending_updates():
        seen += batch
        tg.confirm(batch[-1]["update_id"] + 1)
    return seen

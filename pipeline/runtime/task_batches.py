"""How many documents go into one analysis task on a Dask cluster, chosen from the documents' sizes.

A task run costs orchestration work whatever it holds (Prefect creates it and records its states through the API,
Dask ships it and its result): around a tenth of a second of CPU in the flow's process and Prefect's server, on
the same cores as the analysis on a small machine. One document per task makes that cost comparable to a short
document's analysis; one task per worker leaves the last worker to finish alone while the others idle. So the
documents, largest first, are cut into batches of about ``total / (slots * TASKS_PER_SLOT)`` bytes (each worker gets
a few) until half of each slot's share of what is left is smaller, and then of that size (guided scheduling: the
tasks that end the run are small, so the workers finish close together), never below ``MIN_TASK_BYTES`` (a task's
analysis well above its orchestration) nor above ``MAX_TASK_DOCUMENTS`` documents (a task's results are held in
memory until it ends). Sizes are bytes on disk: for text about the characters analysed, for a PDF a rougher proxy.
"""

from __future__ import annotations

TASKS_PER_SLOT = 4
MIN_TASK_BYTES = 40_000
MAX_TASK_DOCUMENTS = 32


def plan_batches(sizes: list[int], slots: int, *, tasks_per_slot: int = TASKS_PER_SLOT,
                 min_task_bytes: int = MIN_TASK_BYTES, max_documents: int = MAX_TASK_DOCUMENTS) -> list[list[int]]:
    """Indices of ``sizes`` cut into batches in the order they should be submitted. Every index is in exactly one
    batch.

    The documents go largest first (a large document started last would finish alone), and the batches shrink
    towards the end (guided scheduling): each takes about ``total / (slots * tasks_per_slot)`` bytes while that is
    less than half of each slot's share of the work still to cut, then that half, so the tasks that end the run are
    small and the workers finish close together."""
    if not sizes:
        return []
    slots, tasks_per_slot = max(1, slots), max(1, tasks_per_slot)
    order = sorted(range(len(sizes)), key=lambda index: -sizes[index])  # stable: equal sizes keep their order
    remaining = sum(max(0, size) for size in sizes)
    uniform = remaining / (slots * tasks_per_slot)

    def target() -> float:
        return max(min_task_bytes, min(uniform, remaining / (2 * slots)))

    batches: list[list[int]] = []
    current: list[int] = []
    filled = 0
    goal = target()
    for index in order:
        current.append(index)
        filled += max(0, sizes[index])
        if filled >= goal or len(current) >= max_documents:
            batches.append(current)
            remaining -= filled
            current, filled = [], 0
            goal = target()
    if current:
        batches.append(current)
    return batches

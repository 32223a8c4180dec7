"""How many documents go into one analysis task on a Dask cluster, chosen from the documents' sizes.

A task run costs orchestration work whatever it holds (Prefect creates it and records its states through the API,
Dask ships it and its result): around a tenth of a second of CPU in the flow's process and Prefect's server, on
the same cores as the analysis on a small machine. One document per task makes that cost comparable to a short
document's analysis; one task per worker leaves the last worker to finish alone while the others idle. So the
documents are cut, in order, into batches of about ``total / (slots * TASKS_PER_SLOT)`` bytes (each worker gets a
few, and the last ones to finish are small against the run), never below ``MIN_TASK_BYTES`` (a task's analysis
well above its orchestration) nor above ``MAX_TASK_DOCUMENTS`` documents (a task's results are held in memory
until it ends). Sizes are bytes on disk: for text about the characters analysed, for a PDF a rougher proxy.
"""

from __future__ import annotations

TASKS_PER_SLOT = 4
MIN_TASK_BYTES = 40_000
MAX_TASK_DOCUMENTS = 32


def plan_batches(sizes: list[int], slots: int, *, tasks_per_slot: int = TASKS_PER_SLOT,
                 min_task_bytes: int = MIN_TASK_BYTES, max_documents: int = MAX_TASK_DOCUMENTS) -> list[list[int]]:
    """Indices of ``sizes`` cut in order into batches, largest batch first (a large batch started last would
    finish alone). Every index is in exactly one batch."""
    if not sizes:
        return []
    target = max(min_task_bytes, sum(sizes) / (max(1, slots) * max(1, tasks_per_slot)))
    batches: list[list[int]] = []
    current: list[int] = []
    filled = 0
    for index, size in enumerate(sizes):
        current.append(index)
        filled += max(0, size)
        if filled >= target or len(current) >= max_documents:
            batches.append(current)
            current, filled = [], 0
    if current:
        batches.append(current)
    return sorted(batches, key=lambda batch: -sum(sizes[i] for i in batch))  # stable: equal batches keep their order

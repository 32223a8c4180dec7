"""Analysis tasks on Dask sized from the documents' sizes (pipeline.task_batches)."""

from pipeline.task_batches import MAX_TASK_DOCUMENTS, MIN_TASK_BYTES, plan_batches


def _flat(batches: list[list[int]]) -> list[int]:
    return sorted(i for batch in batches for i in batch)


def test_sixty_policy_documents_give_each_of_two_workers_a_few_tasks():
    sizes = [8_000 + 97 * (i % 11) for i in range(60)]  # ~8.5 KB each, as benchmarks/corpus_generator.py writes
    batches = plan_batches(sizes, slots=2)
    assert _flat(batches) == list(range(60))  # every document in exactly one task
    assert 6 <= len(batches) <= 10  # about four per worker: few task runs, a short tail
    target = sum(sizes) / 8
    for batch in batches[:-1]:
        assert target <= sum(sizes[i] for i in batch) < target + max(sizes)
    assert all(batch == sorted(batch) for batch in batches)  # documents keep their order within a task
    one = plan_batches(sizes, slots=1)
    assert len(one) < len(batches) and _flat(one) == list(range(60))


def test_small_documents_share_a_task_and_a_huge_one_goes_first():
    sizes = [1_000] * 20 + [2_000_000] + [1_000] * 20
    batches = plan_batches(sizes, slots=2)
    assert _flat(batches) == list(range(41))
    assert 20 in batches[0]  # the largest task is submitted first: started last it would finish alone
    for batch in batches:
        assert len(batch) <= MAX_TASK_DOCUMENTS
    # Tiny documents are not one task each: a task holds at least MIN_TASK_BYTES unless the documents run out.
    tiny = plan_batches([500] * 100, slots=2)
    assert [len(batch) for batch in tiny] == [MAX_TASK_DOCUMENTS] * 3 + [100 - 3 * MAX_TASK_DOCUMENTS]
    assert len(plan_batches([500] * 60, slots=2, max_documents=1000)) == 1  # 30 KB: below MIN_TASK_BYTES
    assert MIN_TASK_BYTES > 60 * 500
    assert plan_batches([], slots=2) == []
    assert _flat(plan_batches([0, 0, 0], slots=4)) == [0, 1, 2]

"""Analysis tasks on Dask sized from the documents' sizes (pipeline.runtime.task_batches)."""

from pathlib import Path

from pipeline.runtime.task_batches import MAX_TASK_DOCUMENTS, MIN_TASK_BYTES, plan_batches


def _flat(batches: list[list[int]]) -> list[int]:
    return sorted(i for batch in batches for i in batch)


def test_sixty_policy_documents_give_each_of_two_workers_a_few_tasks_that_shrink_towards_the_end():
    sizes = [8_000 + 97 * (i % 11) for i in range(60)]  # ~8.5 KB each, as benchmarks/corpus_generator.py writes
    batches = plan_batches(sizes, slots=2)
    assert _flat(batches) == list(range(60))  # every document in exactly one task
    assert 6 <= len(batches) <= 12  # a few per worker: few task runs, a short tail
    uniform = sum(sizes) / 8
    totals = [sum(sizes[i] for i in batch) for batch in batches]
    assert all(total < uniform + max(sizes) for total in totals)
    assert totals[0] >= uniform  # full-size tasks while much of the work is still to come
    assert max(totals[-2:]) < 0.75 * uniform  # the tasks that end the run are small: the workers finish together
    assert max(totals[-2:]) >= MIN_TASK_BYTES - max(sizes)  # but not below a task's worth
    submitted = [sizes[i] for batch in batches for i in batch]
    assert submitted == sorted(sizes, reverse=True)  # largest documents first
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


def test_one_write_task_per_batch_fails_only_the_documents_that_cannot_be_written(tmp_path):
    """``write_batch_task`` (its plain function): one outcome per document, in order; a write that fails for good
    fails once, without retries, and its neighbours are written."""
    import json
    import time

    from flows import write_batch_task
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    sources = []
    for name in ("a", "b"):
        source = tmp_path / f"{name}.txt"
        source.write_text(f"Plan {name}\n\nFor å nå målet vil regjeringen:\n\n- styrke tilsynet med {name}\n",
                          encoding="utf-8")
        sources.append(source)
    results = [analyse_document(source, PipelineConfig(nlp="blank")).model_dump(mode="json") for source in sources]
    out = tmp_path / "ut"
    out.mkdir()
    outcomes = write_batch_task.fn(results, str(out), ["a", "b"], [str(s) for s in sources], 1)
    assert [Path(o["output"]).name for o in outcomes] == ["a.json", "b.json"]
    assert json.loads((out / "b.json").read_text(encoding="utf-8"))["document"]["file_name"] == "b.txt"

    # A name too long for the file system fails for good: once, not retried; its neighbour is written all the same.
    out_again = tmp_path / "ut-igjen"
    out_again.mkdir()
    started = time.monotonic()
    mixed = write_batch_task.fn(results, str(out_again), ["x" * 300, "b"], [str(s) for s in sources], 1)
    assert time.monotonic() - started < 1.0  # retries would wait a second each
    assert mixed[0]["stage"] == "write" and "too long" in mixed[0]["error"], mixed[0]
    assert Path(mixed[1]["output"]) == out_again / "b.json" and (out_again / "b.json").is_file()

"""Calibration split across torch.distributed ranks (gloo on 127.0.0.1, processes started by
torch.multiprocessing): the merged report equals one process's over every batch."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

import distributed_worker

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="this torch has no torch.distributed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tmp_path, plan, world):
    mp.spawn(distributed_worker.run, args=(world, _free_port(), str(tmp_path), plan),
             nprocs=world, join=True)
    results = []
    for rank in range(world):
        with open(tmp_path / f"rank{rank}.json") as f:
            results.append(json.load(f))
    return results


def _ok(results):
    for r in results:
        assert "error" not in r, f"rank {r['rank']}: {r['error']}\n{r.get('traceback')}"


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_unequal_shards_merge_to_the_single_process_report(tmp_path, model):
    plan = {"model": model, "batches": 5, "shards": [[0, 1, 2], [3, 4]], "api": "analyze"}
    results = _run(tmp_path, plan, 2)
    _ok(results)
    single = distributed_worker.single(str(tmp_path), plan)
    for r in results:
        assert r["json"] == single["json"]  # every statistic, exactly
        assert r["rank_batches"] == [3, 2]
        assert "merged from 2 ranks (torch.distributed), batches per rank: 3, 2" in r["text"]
    # Rank 0 writes the files; the other rank writes none.
    assert results[0]["saved"] and not results[1]["saved"]
    saved = json.loads((tmp_path / "files" / "report.json").read_text())
    assert saved == json.loads(single["json"])


@pytest.mark.skipif(
    int(torch.__version__.split(".")[0]) < 2,
    reason="torch 1.13's torchrun fails under Python 3.11 before starting a worker "
           "(elastic's to_map reads its Std enum as None); mp.spawn covers this torch")
def test_under_torchrun_the_report_is_the_single_process_one(tmp_path):
    plan = {"model": "cnn", "batches": 3, "shards": [[0, 1], [2]], "api": "analyze"}
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                    "--master_addr=127.0.0.1", f"--master_port={_free_port()}", worker,
                    str(tmp_path), json.dumps(plan)], check=True, env=env, timeout=300)
    single = distributed_worker.single(str(tmp_path), plan)
    for rank in range(2):
        result = json.loads((tmp_path / f"rank{rank}.json").read_text())
        _ok([result])
        assert result["json"] == single["json"]


def test_a_rank_with_no_batches_takes_part(tmp_path):
    plan = {"model": "mlp", "batches": 4, "shards": [[0, 1], [], [2, 3]], "api": "analyze"}
    results = _run(tmp_path, plan, 3)
    _ok(results)
    single = distributed_worker.single(str(tmp_path), plan)
    assert all(r["json"] == single["json"] for r in results)
    assert results[1]["rank_batches"] == [2, 0, 2]


def test_observe_merges_the_ranks_loops(tmp_path):
    plan = {"model": "cnn", "batches": 3, "shards": [[0], [1, 2]], "api": "observe"}
    results = _run(tmp_path, plan, 2)
    _ok(results)
    single = distributed_worker.single(str(tmp_path), plan)
    assert all(r["json"] == single["json"] for r in results)


def test_the_drop_in_model_report_merges_too(tmp_path):
    plan = {"model": "mlp", "batches": 4, "shards": [[0, 1, 2], [3]], "api": "model_report"}
    results = _run(tmp_path, plan, 2)
    _ok(results)
    single = distributed_worker.single(str(tmp_path), plan)
    assert all(r["reports"] == single["reports"] for r in results)


@pytest.mark.parametrize("other", ["other_model_on", "other_options_on"])
def test_ranks_with_another_model_or_options_fail_on_every_rank(tmp_path, other):
    plan = {"model": "mlp", "batches": 2, "shards": [[0], [1]], "api": "analyze", other: 1}
    results = _run(tmp_path, plan, 2)
    for r in results:
        assert "error" in r, f"rank {r['rank']} did not fail"
        assert "ranks 1 observed another model, other layers or other detector options than " \
               "rank 0" in r["error"]


def test_a_rank_that_never_reports_is_named_not_waited_for(tmp_path):
    plan = {"model": "mlp", "batches": 2, "shards": [[0], [1]], "api": "analyze",
            "absent": 1, "timeout": 3}
    results = _run(tmp_path, plan, 2)
    assert "not every rank reached the report" in results[0]["error"]
    assert "distributed=False" in results[0]["error"]

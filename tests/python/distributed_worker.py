"""What one rank runs in the distributed tests (torch.multiprocessing starts it, so it lives
in a module the children can import). Each rank writes what it saw to OUT/rank<R>.json."""

import datetime
import json
import os
import traceback

import torch
import torch.distributed as dist

import qreport
from models import ConvBnRelu, Mlp, batches


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)  # the same weights on every rank
    return {"mlp": Mlp, "cnn": ConvBnRelu}[kind]()


def _shape(kind: str):
    return (3, 12) if kind == "mlp" else (2, 3, 8, 8)


def all_batches(kind: str, count: int):
    torch.manual_seed(1)
    return list(batches(_shape(kind), count))


def run(rank: int, world: int, port: int, out: str, plan: dict) -> None:
    """plan: {"model": "mlp"|"cnn", "shards": [[batch indices of rank 0], ...], "api":
    "analyze"|"observe"|"model_report", "other_model_on": rank or None}. port 0: the
    process group comes from torchrun's environment."""
    result = {"rank": rank}
    torch.set_num_threads(1)
    if port:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world, timeout=datetime.timedelta(seconds=60))
    else:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    try:
        kind = plan["model"]
        if plan.get("other_model_on") == rank:
            kind = "cnn" if kind == "mlp" else "mlp"
        model = _model(kind).eval()
        data = all_batches(kind, plan["batches"])
        mine = [data[i] for i in plan["shards"][rank]]
        timeout = datetime.timedelta(seconds=plan.get("timeout", 20))
        if plan.get("absent") == rank:  # this rank never makes the report
            import time

            time.sleep(plan["timeout"] + 3)
            return
        options = {"outlier_ratio_threshold": 2.0} if plan.get("other_options_on") == rank else {}
        if plan["api"] == "analyze":
            report = qreport.analyze(model, mine, example=data[0], progress=False,
                                     timeout=timeout, **options)
            result["json"] = report.to_json()
            result["text"] = report.text()
            result["saved"] = report.save(os.path.join(out, "files"))
            result["rank_batches"] = report.summary.rank_batches
        elif plan["api"] == "observe":
            with qreport.observe(model, data[0], timeout=timeout) as obs:
                with torch.no_grad():
                    for b in mine:
                        model(b)
                result["json"] = obs.report().to_json()
        else:
            from qreport.torch import ModelReport, OutlierDetector, PerChannelDetector

            report = ModelReport(model, {PerChannelDetector(), OutlierDetector()},
                                 timeout=timeout)
            prepared = report.prepare_detailed_calibration()
            with torch.no_grad():
                for b in mine:
                    prepared(b)
            reports = report.generate_model_report(True)
            result["reports"] = {name: [text, repr(info)] for name, (text, info) in
                                 sorted(reports.items())}
    except Exception as e:  # reported to the test, which checks every rank's outcome
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
    finally:
        dist.destroy_process_group()
        with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
            json.dump(result, f)


def single(out: str, plan: dict) -> dict:
    """The same calibration in one process over every batch, for comparison."""
    torch.set_num_threads(1)
    kind = plan["model"]
    model = _model(kind).eval()
    data = all_batches(kind, plan["batches"])
    every = [data[i] for shard in plan["shards"] for i in shard]
    if plan["api"] == "model_report":
        from qreport.torch import ModelReport, OutlierDetector, PerChannelDetector

        report = ModelReport(model, {PerChannelDetector(), OutlierDetector()})
        prepared = report.prepare_detailed_calibration()
        with torch.no_grad():
            for b in every:
                prepared(b)
        reports = report.generate_model_report(True)
        return {"reports": {name: [text, repr(info)] for name, (text, info) in
                            sorted(reports.items())}}
    report = qreport.analyze(model, every, progress=False, distributed=False)
    return {"json": report.to_json(), "text": report.text()}


if __name__ == "__main__":  # under torchrun: python -m torch.distributed.run ... OUT PLAN_JSON
    import sys

    run(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), 0, sys.argv[1],
        json.loads(sys.argv[2]))

"""Kill the pipeline during Transform, the Trainer and the Pusher; rerun.

Runs `keras-seq pipeline run` (small date corpus, 1 epoch) in one output
folder, as a child process in its own process group:

0. a complete run (corpus A, 5 training steps): pushes version V0;
1. corpus B (Transform must run again): SIGKILL while Transform is RUNNING
   in ML Metadata, then the same command again;
2. corpus B, 15 training steps (only the Trainer must run again): SIGKILL
   while the Trainer is RUNNING, then again;
3. the same command as 2 (the Pusher pushes the model blessed in 2 once
   more): SIGKILL as soon as the Pusher is RUNNING, then again.

For each kill it checks and prints: the killed execution stayed RUNNING and
the rerun marked it CANCELED; in the rerun, every component that had
finished before the kill is CACHED and the rest ran; every version pushed
before the kill is byte-identical afterwards (sha256 of every file); no
numbered version folder is incomplete and no temporary push folder is left.

    TF_CPP_MIN_LOG_LEVEL=2 nice -n 10 .venv/bin/python \\
        benchmarks/pipeline_kill_resume.py --work-dir /tmp/kill_resume

A few minutes per run on 2 CPU cores (7 runs, 3 of them killed).
"""

import argparse
import hashlib
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time

STATE_NAMES = {
    0: "UNKNOWN",
    1: "NEW",
    2: "RUNNING",
    3: "COMPLETE",
    4: "FAILED",
    5: "CACHED",
    6: "CANCELED",
}


def executions(metadata_path):
    """`[(id, component, state)]` read straight from the MLMD SQLite file
    (read-only, so polling never disturbs the run)."""
    if not os.path.exists(metadata_path):
        return []
    try:
        uri = f"file:{metadata_path}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=1) as db:
            rows = db.execute(
                "SELECT e.id, t.name, e.last_known_state FROM Execution e "
                "JOIN Type t ON e.type_id = t.id ORDER BY e.id"
            ).fetchall()
    except sqlite3.Error:
        return []
    return [(i, name.rsplit(".", 1)[-1], STATE_NAMES[s]) for i, name, s in rows]


def tree_hashes(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(
                    f.read()
                ).hexdigest()
    return out


def versions_state(model_dir):
    """`({version: {file: sha256}}, incomplete numbered, other entries)`."""
    from keras_seq_serving import versions

    complete, incomplete, other = {}, [], []
    if os.path.isdir(model_dir):
        for name in sorted(os.listdir(model_dir)):
            path = os.path.join(model_dir, name)
            if not name.isdigit():
                other.append(name)
            elif versions.is_complete(path):
                complete[name] = tree_hashes(path)
            else:
                incomplete.append(name)
    return complete, incomplete, other


def command(args, corpus, steps):
    return [
        sys.executable,
        "-m",
        "keras_seq_apps.cli",
        "pipeline",
        "run",
        "--output-dir",
        args.output_dir,
        "--data-dir",
        corpus,
        "--epochs",
        "1",
        "--train-steps",
        str(steps),
        "--bleu-threshold",
        "0",
    ]


def run(cmd, log_path, kill_at=None, delay=0.0, metadata_path=None):
    """Runs `cmd`; with `kill_at`, SIGKILLs its process group `delay` s
    after an execution of that component shows RUNNING in ML Metadata.

    Returns:
        dict: seconds, exit code, killed execution id.
    """
    first_new = max((e[0] for e in executions(metadata_path)), default=0) + 1
    start = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        killed_id = None
        if kill_at:
            while proc.poll() is None:
                running = [
                    e
                    for e in executions(metadata_path)
                    if e[0] >= first_new
                    and e[1] == kill_at
                    and e[2] == "RUNNING"
                ]
                if running:
                    time.sleep(delay)
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed_id = running[0][0]
                    break
                time.sleep(0.01)
        code = proc.wait()
    return {
        "seconds": round(time.time() - start, 1),
        "exit_code": code,
        "killed_execution": killed_id,
        "first_execution": first_new,
    }


def run_states(metadata_path, first_id):
    return [
        (name, state)
        for i, name, state in executions(metadata_path)
        if i >= first_id
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--num-train", type=int, default=300)
    parser.add_argument("--transform-delay", type=float, default=20.0)
    parser.add_argument("--trainer-delay", type=float, default=50.0)
    args = parser.parse_args(argv)
    from keras_seq_pipelines import data

    os.makedirs(args.work_dir, exist_ok=True)
    args.output_dir = os.path.join(args.work_dir, "out")
    metadata_path = os.path.join(args.output_dir, "metadata.sqlite")
    model_dir = os.path.join(args.output_dir, "serving", "translator")
    corpora = {}
    for name, seed in (("A", 1), ("B", 2)):
        corpora[name] = os.path.join(args.work_dir, f"corpus_{name}")
        data.write_dates(
            corpora[name], num_train=args.num_train, num_eval=200, seed=seed
        )
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "phases": [],
    }

    def log(name):
        return os.path.join(args.work_dir, f"{name}.log")

    base = run(
        command(args, corpora["A"], 5),
        log("0_complete"),
        None,
        0,
        metadata_path,
    )
    base["states"] = run_states(metadata_path, base["first_execution"])
    results["complete_run"] = base
    print("complete run:", json.dumps(base), flush=True)

    phases = [
        ("Transform", corpora["B"], 5, args.transform_delay),
        ("Trainer", corpora["B"], 15, args.trainer_delay),
        ("Pusher", corpora["B"], 15, 0.0),
    ]
    for component, corpus, steps, delay in phases:
        before, _, _ = versions_state(model_dir)
        cmd = command(args, corpus, steps)
        killed = run(
            cmd, log(f"kill_{component}"), component, delay, metadata_path
        )
        killed["states"] = run_states(metadata_path, killed["first_execution"])
        after_kill = dict(
            zip(("complete", "incomplete", "other"), versions_state(model_dir))
        )
        after_kill["complete"] = sorted(after_kill["complete"])
        rerun = run(cmd, log(f"rerun_{component}"), None, 0, metadata_path)
        rerun["states"] = run_states(metadata_path, rerun["first_execution"])
        after, incomplete, other = versions_state(model_dir)
        killed_state = [
            s
            for i, _, s in executions(metadata_path)
            if i == killed["killed_execution"]
        ]
        finished_before = {
            name
            for name, state in killed["states"]
            if state in ("COMPLETE", "CACHED")
        }
        recomputed = [
            name for name, state in rerun["states"] if state == "COMPLETE"
        ]
        checks = {
            "killed (exit code -9)": killed["exit_code"] == -signal.SIGKILL,
            "rerun exit code 0": rerun["exit_code"] == 0,
            "killed execution now CANCELED": killed_state == ["CANCELED"],
            # The BleuEvaluator that finished before a kill during the
            # Pusher wrote the newest blessing, which is the rerun
            # evaluator's baseline input: a changed input, so it runs again
            # by design (not a lost result).
            "finished components CACHED in the rerun": all(
                state == "CACHED"
                for name, state in rerun["states"]
                if name in finished_before
                and name != "Resolver"
                and not (component == "Pusher" and name == "BleuEvaluator")
            ),
            "killed component ran again": component in recomputed,
            "earlier versions byte-identical": all(
                after.get(v) == h for v, h in before.items()
            ),
            "no incomplete version, no temporary folder": not incomplete
            and not other,
        }
        phase = {
            "component": component,
            "killed": killed,
            "after_kill_versions": after_kill,
            "rerun": rerun,
            "recomputed": recomputed,
            "versions_before": sorted(before),
            "versions_after": sorted(after),
            "checks": checks,
        }
        results["phases"].append(phase)
        print(f"kill during {component}:", json.dumps(phase), flush=True)
    results["load_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(os.path.join(args.work_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)

    print(
        "\n| killed during | killed after | rerun | recomputed in the rerun"
        " | checks |"
    )
    print("|---|---|---|---|---|")
    for p in results["phases"]:
        ok = sum(p["checks"].values())
        print(
            f"| {p['component']} | {p['killed']['seconds']} s | "
            f"{p['rerun']['seconds']} s | {', '.join(p['recomputed'])} | "
            f"{ok}/{len(p['checks'])} |"
        )
    failed = [
        (p["component"], name)
        for p in results["phases"]
        for name, ok in p["checks"].items()
        if not ok
    ]
    print("failed checks:", failed or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training over MPI, run as users run it (``mpiexec -n 2 anyprop train
... --distributed``): the same model as one process with the whole batch, up to the
order of the sums; faults on one process stop every process with its rank named;
mismatched processes are refused at the start; checkpoints resume on any number."""

from __future__ import annotations

import io
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import anyprop
from anyprop.cli.main import main

WORKER = Path(__file__).with_name("mpi_worker.py")
SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)


def mpirun(*argv, fault="none", n=2, timeout=120):
    cmd = [MPIEXEC, "-n", str(n), sys.executable, str(WORKER), fault, "train", *map(str, argv)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def _spec(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(SPEC)
    return path


def _data(tmp_path, n=26):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = np.sin(x @ [1.0, -2.0, 0.5])
    rows = ["a,b,c,y", *(",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y, strict=True))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


SPEC = """[network]
dtype = "float64"
[layered]
sizes = [3, 5, 1]
transfer = "tanh"
output_transfer = "identity"
loss = "mse"
"""
COMMON = ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--epochs", "6",
          "--seed", "4", "--no-standardize"]  # fmt: skip


def _params(path):
    return anyprop.load(path).network.params


def test_two_processes_give_the_model_one_process_gives_with_the_whole_batch(tmp_path):
    data = _data(tmp_path)  # 26 rows: batches of 2 × 4 = 8, the last one ragged (2 rows)
    two, one = tmp_path / "two.anyprop", tmp_path / "one.anyprop"
    spec = _spec(tmp_path)
    status, out, err, _ = mpirun(spec, "--data", data, *COMMON, "--batch-size", 4, "--distributed",
                                 "--out", two)  # fmt: skip
    assert status == 0, err
    assert out.count("Training summary") == 1  # process 0 alone prints
    argv = ["train", str(spec), "--data", str(data), *COMMON, "--batch-size", "8"]
    assert main([*argv, "--out", str(one)]) == 0
    a, b = _params(two), _params(one)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-14, err_msg=k)
    saved = anyprop.load(two).trainer_state["config"]["batch_size"]
    assert saved == 8  # the batch over every process: it resumes on any number
    # resumed on one process, it goes on as the two-process run would have
    more = tmp_path / "more.anyprop"
    shutil.copy(two, more)
    assert main(["train", "--resume", str(more), "--epochs", "9"]) == 0
    status, _, err, _ = mpirun("--resume", two, "--epochs", 9, "--distributed")
    assert status == 0, err
    a, b = _params(two), _params(more)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_a_process_that_raises_stops_every_process_with_its_rank_named(tmp_path):
    status, _, err, seconds = mpirun("--data", _data(tmp_path), *COMMON, "--distributed",
                                     "--no-save", fault="raise")  # fmt: skip
    assert status != 0 and seconds < 60
    assert "anyprop train: error on process 1 of 2: RuntimeError: a fault made by the test" in err


def test_a_killed_process_stops_the_run(tmp_path):
    status, out, err, seconds = mpirun("--data", _data(tmp_path), *COMMON, "--epochs", 50,
                                       "--distributed", "--no-save", fault="kill")  # fmt: skip
    assert status != 0 and seconds < 60
    # mpiexec names the process that died by its pid; anyprop's first line, which rank it was
    pid = re.search(r"process 1 is pid (\d+)", err).group(1)
    assert re.search(rf"PID {pid} RUNNING AT .*\n.*EXIT CODE: 9", out + err)


def test_processes_that_differ_are_refused_at_the_start(tmp_path):
    status, _, err, seconds = mpirun("--data", _data(tmp_path), "--epochs", 2, "--distributed",
                                     "--no-save", fault="differ")  # fmt: skip
    assert status != 0 and seconds < 60
    assert "the processes differ in weights" in err


def test_sequences_with_truncated_bptt_and_masks_give_the_one_process_model(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(11, 9, 1))
    mask = np.ones((11, 9))
    mask[::3, 5:] = 0  # shorter sequences: their last-step targets in an earlier chunk
    path = tmp_path / "seq.npz"
    np.savez(path, x=x, y=(x[:, :, 0].sum(axis=1) > 0).astype(np.int64), mask=mask)
    spec = SPECS / "elman.toml"
    common = [spec, "--data", path, "--optimizer", "sgd", "--lr", "0.3", "--epochs", "4",
              "--seed", "2", "--bptt", "3"]  # fmt: skip
    two, one = tmp_path / "two.anyprop", tmp_path / "one.anyprop"
    status, _, err, _ = mpirun(*common, "--batch-size", 2, "--distributed", "--out", two)
    assert status == 0, err
    assert main(["train", *map(str, common), "--batch-size", "4", "--out", str(one)]) == 0
    a, b = _params(two), _params(one)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=2e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("sweep", [[], ["--sweep", "lr", "1", "2", "--sweep", "momentum", "0.9"]])
def test_seed_sweeps_spread_over_the_processes_give_the_same_table(sweep):
    argv = ["--data", "xor", "--hidden", "2", "--transfer", "sigmoid", "--optimizer",
            "sgd", "--lr", "2", "--momentum", "0.9", "--epochs", "200", "--seeds", "5",
            "--json", *sweep]  # fmt: skip
    status, out, err, _ = mpirun(*argv, "--distributed")
    assert status == 0, err
    assert out.count('"runs"') == (2 if sweep else 1)  # one table (a row a point), from 0
    spread = json.loads(out)
    buf = io.StringIO()
    assert main(["train", *argv], stdout=buf, stderr=io.StringIO()) == 0
    assert spread == json.loads(buf.getvalue())


def test_a_data_file_for_each_process_trains_as_their_union(tmp_path):
    whole = _data(tmp_path)
    lines = whole.read_text().splitlines()
    head, rows = lines[0], lines[1:]
    for r, part in enumerate((rows[:11], rows[11:])):  # files of 11 and 15 rows
        (tmp_path / f"part-{r}.csv").write_text("\n".join([head, *part]) + "\n")
    spec = _spec(tmp_path)
    common = [spec, *COMMON, "--batch-size", "full"]
    common[common.index("--no-standardize")] = "--standardize"
    two, one = tmp_path / "two.anyprop", tmp_path / "one.anyprop"
    status, _, err, _ = mpirun(*common, "--data", tmp_path / "part-{rank}.csv", "--distributed",
                               "--out", two)  # fmt: skip
    assert status == 0, err
    argv = ["train", *map(str, common), "--data", str(whole), "--out", str(one)]
    assert main(argv) == 0
    a, b = anyprop.load(two), anyprop.load(one)
    np.testing.assert_allclose(a.standardizer.mean, b.standardizer.mean, rtol=1e-12)
    np.testing.assert_allclose(a.standardizer.std, b.standardizer.std, rtol=1e-10)
    for k in a.network.params:
        np.testing.assert_allclose(a.network.params[k], b.network.params[k], rtol=1e-10,
                                   atol=1e-12, err_msg=k)  # fmt: skip
    # a file of other columns is refused before any step, by its process
    (tmp_path / "part-1.csv").write_text("a,b,y\n1,2,3\n")
    status, _, err, _ = mpirun(*common, "--data", tmp_path / "part-{rank}.csv", "--distributed",
                               "--no-save")  # fmt: skip
    differ = ("the processes' data differ in their columns: process 0 has inputs a, b, c; "
              "targets y (numbers), process 1 inputs a, b; targets y (numbers)")  # fmt: skip
    assert status != 0 and f"error on process 1 of 2: {differ}" in err
    status, _, err, _ = mpirun(
        "--data", tmp_path / "part-{rank}.csv", "--distributed", "--no-save"
    )  # (a network made for each process's data)
    assert status != 0 and differ in err


def test_resuming_on_the_same_number_of_processes_is_bitwise_the_run_itself(tmp_path):
    data, spec = _data(tmp_path), _spec(tmp_path)
    straight, resumed = tmp_path / "straight.anyprop", tmp_path / "resumed.anyprop"
    common = [spec, "--data", data, *COMMON, "--batch-size", 3, "--distributed"]
    common[common.index("--epochs") + 1] = "8"
    assert mpirun(*common, "--out", straight)[0] == 0
    common[common.index("--epochs") + 1] = "5"
    assert mpirun(*common, "--out", resumed)[0] == 0
    status, _, err, _ = mpirun("--resume", resumed, "--epochs", 8, "--distributed")
    assert status == 0, err
    a, b = _params(straight), _params(resumed)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_ctrl_c_on_mpiexec_leaves_the_last_checkpoint_intact(tmp_path):
    model = tmp_path / "m.anyprop"
    cmd = [MPIEXEC, "-n", "2", sys.executable, str(WORKER), "none", "train", "--data",
           str(_data(tmp_path, n=2000)), "--epochs", "100000", "--checkpoint-every", "0.2",
           "--distributed", "--out", str(model)]  # fmt: skip
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not model.exists() and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    saved = anyprop.load(model)  # whole: written atomically by process 0
    assert saved.trainer_state["epoch"] >= 1


def _classes_csv(tmp_path, n=30):
    """A file sorted by its class: process 0's rows have classes a and b alone, process
    1's b and c, and only process 1's hold the colour 'green'."""
    rng = np.random.default_rng(3)
    rows = ["u,colour,v,label"]
    for i in range(n):
        label = "abc"[min(2, 3 * i // n)] if i != n // 2 else "b"
        colour = ("red", "blue")[i % 2] if i < n // 2 else ("red", "blue", "green")[i % 3]
        rows.append(f"{rng.normal():.6f},{colour},{rng.normal():.6f},{label}")
    path = tmp_path / "classes.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_each_process_reads_its_rows_of_one_file_as_the_whole_would_be_read(tmp_path):
    data = _classes_csv(tmp_path)
    common = ["--data", data, "--hidden", "4", "--optimizer", "sgd", "--lr", "0.2", "--epochs",
              "5", "--seed", "1", "--batch-size", "full"]  # fmt: skip
    two, one = tmp_path / "two.anyprop", tmp_path / "one.anyprop"
    status, _, err, _ = mpirun(*common, "--shard-rows", "--distributed", "--out", two)
    assert status == 0, err
    assert main(["train", *map(str, common), "--out", str(one)]) == 0
    a, b = anyprop.load(two), anyprop.load(one)
    assert a.labels == b.labels == ["a", "b", "c"]
    assert a.columns.columns == b.columns.columns  # green among the colours of both
    np.testing.assert_allclose(a.standardizer.mean, b.standardizer.mean, rtol=1e-12)
    for k in a.network.params:  # (float32: the sums in another order)
        np.testing.assert_allclose(a.network.params[k], b.network.params[k], rtol=1e-5,
                                   atol=1e-6, err_msg=k)  # fmt: skip


def test_whole_number_classes_of_an_npy_are_numbered_as_the_whole_file_numbers_them(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(24, 2))
    y = np.repeat([3.0, 7.0, 9.0], 8)  # process 0: 3 and 7; process 1: 7 and 9
    path = tmp_path / "t.npy"
    np.save(path, np.column_stack([x, y]))
    common = ["--data", path, "--hidden", "3", "--optimizer", "sgd", "--lr", "0.3", "--epochs",
              "4", "--batch-size", "full", "--no-standardize"]  # fmt: skip
    two, one = tmp_path / "two.anyprop", tmp_path / "one.anyprop"
    status, _, err, _ = mpirun(*common, "--shard-rows", "--distributed", "--out", two)
    assert status == 0, err
    assert main(["train", *map(str, common), "--out", str(one)]) == 0
    a, b = anyprop.load(two), anyprop.load(one)
    assert a.labels == b.labels == ["3", "7", "9"] and a.task == b.task == "classification"
    for k in a.network.params:
        np.testing.assert_allclose(a.network.params[k], b.network.params[k], rtol=1e-5,
                                   atol=1e-6, err_msg=k)  # fmt: skip
    # more processes than rows: said by every process, not a hang
    (tmp_path / "one-row.csv").write_text("a,y\n1,2\n")
    status, _, err, _ = mpirun("--data", tmp_path / "one-row.csv", "--shard-rows",
                               "--distributed", "--no-save")  # fmt: skip
    assert status != 0 and "1 row cannot be shared by 2 processes" in err
    # a part of text labels beside a part of numbers: refused at the start, not a hang
    (tmp_path / "mixed.csv").write_text("a,b,y\n1,2,1\n3,4,2\n5,6,x\n7,8,x\n")
    status, _, err, _ = mpirun("--data", tmp_path / "mixed.csv", "--shard-rows",
                               "--distributed", "--no-save", timeout=60)  # fmt: skip
    assert status != 0 and "targets y (numbers), process 1 inputs a, b; targets y (text " in err

"""The wheel is the whole program: built, installed in a fresh venv, used from an empty folder.

The wheel is built from a copy of the tracked files (what a clean clone holds) without
build isolation, and installed without its dependencies into a new venv that sees the test
environment's packages through a ``.pth`` file: no network, and seconds instead of minutes.
The installed ``parkplan`` is then run as a newcomer would, from an empty folder, with
nothing of the checkout on its path: ``init --demo``, ``solve`` of a shipped scenario,
``map``, ``brief`` and ``serve``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folders that ship under another package name (setup.py's RENAMED).
RENAMED = {"data": "parkplan/data", "models": "parkplan/models"}


def _tracked() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the wheel is built from the tracked files")
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def _run(args: list, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in _tracked():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    out = tmp / "dist"
    proc = _run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-w", out, src],
        tmp,
        {**os.environ, "PIP_NO_INPUT": "1"},
    )
    # setuptools warns when a data folder is not a package it was told about.
    assert "absent from the `packages` configuration" not in proc.stdout + proc.stderr
    (built,) = out.glob("parkplan-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; dependencies come from the test environment."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", home], home.parent, dict(os.environ))
    python = home / "bin" / "python"
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            home.parent,
            dict(os.environ),
        ).stdout.strip()
    )
    # Appended after the venv's own site-packages: the wheel's parkplan comes first, and
    # the test environment's editable parkplan (a .pth of its own, not read from here) never.
    (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"]
        + ["--no-index", wheel],
        home.parent,
        {**os.environ, "PIP_NO_INPUT": "1"},
    )
    return home


def test_the_wheel_holds_every_tracked_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for name in _tracked():
        top, _, rest = name.partition("/")
        if top == "parkplan":
            expected.add(name)
        elif top in RENAMED and rest and not rest.startswith("."):
            expected.add(f"{RENAMED[top]}/{rest}")
    assert sorted(expected - names) == []
    licences = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert licences, "the wheel carries no LICENSE"
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in zipfile.ZipFile(wheel).read(metadata).decode()


def _env(venv: Path) -> dict:
    # Nothing of the checkout or the test run: no PYTHONPATH, no workspace, no user.
    drop = ("PYTHONPATH", "PARKPLAN_WORKSPACE", "PARKPLAN_USER", "PARKPLAN_SCENARIOS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PARKPLAN_COOKIE_SECRET"] = "wheel-test-cookie-secret-" + "x" * 32
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str, proc: subprocess.Popen, timeout: float = 120) -> int:
    """Wait until the server answers ``url`` (or exits); return the status."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status
        except OSError:
            pass
        assert proc.poll() is None, "the server exited"
        assert time.monotonic() < deadline, f"no answer from {url} in {timeout} s"
        time.sleep(0.3)


def test_the_installed_wheel_runs_from_an_empty_folder(venv, tmp_path):
    env = _env(venv)
    here = tmp_path / "empty"
    here.mkdir()
    python, parkplan = venv / "bin" / "python", venv / "bin" / "parkplan"
    shipped = json.loads(
        _run(
            [
                python,
                "-c",
                "import json, parkplan; from parkplan.data import data_path; "
                "from parkplan.ui.state import default_scenarios_dir as d; "
                "print(json.dumps([parkplan.__file__, str(d()), "
                "str(data_path('demo-credentials.json'))]))",
            ],
            here,
            env,
        ).stdout
    )
    package, scenarios, credentials = (Path(p) for p in shipped)
    assert package.is_relative_to(venv), f"parkplan imported from {package}, not the wheel"
    assert (scenarios / "baseline.yaml").is_file() and Path(credentials).is_file()

    _run([parkplan, "init", "--demo", "demo.gpkg"], here, env)
    # A 5 % gap: the solve is about the wheel shipping the scenario, not about the optimum.
    _run(
        [parkplan, "solve", scenarios / "baseline.yaml", "-w", "demo.gpkg", "--out", "result.json"]
        + ["--no-explain", "--gap", "0.05"],
        here,
        env,
    )
    result = json.loads((here / "result.json").read_text(encoding="utf-8"))
    assert result["status"] in ("optimal", "feasible") and result["allocation"]
    _run([parkplan, "map", "--out", "park.html", "-w", "demo.gpkg"], here, env)
    assert "leaflet" in (here / "park.html").read_text(encoding="utf-8").lower()
    _run(
        [parkplan, "brief", "--out", "brief.pdf", "--as", "convenor", "-w", "demo.gpkg"], here, env
    )
    assert (here / "brief.pdf").read_bytes().startswith(b"%PDF")

    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [parkplan, "serve", "-w", "demo.gpkg", "--credentials", credentials]
        + ["--port", str(port), "--address", "127.0.0.1"],
        cwd=here,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _answers(f"http://127.0.0.1:{port}/liveness", proc) == 200
    except AssertionError:
        log.flush()
        raise AssertionError((tmp_path / "serve.log").read_text()) from None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

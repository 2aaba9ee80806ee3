"""The command line as a whole: one vocabulary of options, help texts, start-up, errors.

These tests walk the click tree Typer builds from ``parkplan.cli.app``, so a new command
that spells an option its own way fails here, not in a user's hands.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from parkplan.cli import COMMANDS, app

runner = CliRunner()
ROOT = typer.main.get_command(app)

#: Old spellings kept working, hidden from --help: command, arguments, parameter, value.
RENAMED = [
    (("report", "stocktake"), ["--out-dir", "x"], "out_dir", Path("x")),
    (("report", "major-matter"), ["1", "--docx", "x.docx"], "docx", Path("x.docx")),
    (("map",), ["--out", "m.html", "--language", "en"], "language", "en"),
]
#: Options whose spelling, short form and metavar are the same wherever they appear.
SHARED = {
    "--workspace": (("-w", "--workspace"), "PATH_OR_URL"),
    "--as": (("--as",), "USER"),
    "--as-of": (("--as-of",), "DATE"),
    "--task": (("--task",), "N"),
    "--lang": (("--lang",), None),
    "--format": (("--format",), None),
}


def _subcommands(group):
    ctx = typer.Context(group)
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


def _commands(group=ROOT, path: tuple[str, ...] = ()):
    for name, cmd in _subcommands(group).items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def _command(path: tuple[str, ...]):
    cmd = ROOT
    for name in path:
        cmd = _subcommands(cmd)[name]
    return cmd


def _options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option"]


ALL = list(_commands())


def test_every_command_is_listed_once_in_order():
    assert [name for name, _ in COMMANDS] == ROOT.list_commands(typer.Context(ROOT))
    groups = {name for name, target in COMMANDS if isinstance(target, typer.Typer)}
    assert groups == {name for name, cmd in _subcommands(ROOT).items() if hasattr(cmd, "commands")}
    assert len(ALL) > 50


@pytest.mark.parametrize("path, cmd", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_one_vocabulary_of_options(path, cmd):
    for opt in _options(cmd):
        if opt.hidden:
            continue
        long = max(opt.opts, key=len)
        assert long not in ("--language", "--out-dir", "--docx"), (path, long)
        if long == "--out":
            assert sorted(opt.opts) == ["--out", "-o"], path
        if long in SHARED:
            opts, metavar = SHARED[long]
            assert sorted(opt.opts) == sorted(opts), (path, opt.opts)
            if metavar:
                assert opt.metavar == metavar, (path, long, opt.metavar)
        if long == "--task":
            assert opt.callback is not None, f"{' '.join(path)} --task is not checked"
    if path != ("hash-password",):
        assert "workspace" in {p.name for p in cmd.params}, f"{' '.join(path)}: no --workspace"


@pytest.mark.parametrize("path, args, name, value", RENAMED)
def test_old_spellings_still_work_hidden(path, args, name, value):
    cmd = _command(path)
    (alias,) = [p for p in cmd.params if p.name == name]
    assert alias.hidden
    assert cmd.make_context(path[-1], list(args)).params[name] == value
    help_text = runner.invoke(app, [*path, "--help"]).stdout
    assert alias.opts[0] not in help_text and "--out" in help_text or "--lang" in help_text


def test_help_keeps_its_default_texts():
    out = " ".join(runner.invoke(app, ["tasks", "list", "--help"]).stdout.split())
    assert "[default: $PARKPLAN_WORKSPACE, then ./parkplan.gpkg]" in out
    assert "[default: today]" in out


@pytest.mark.parametrize("args", [["milestones", "list"], ["risks", "list"], ["kpis", "list"]])
@pytest.mark.parametrize("task", ["10", "0"])
def test_a_task_outside_one_to_nine_is_refused(args, task, tmp_path):
    result = runner.invoke(app, [*args, "--task", task, "-w", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 2
    assert f"there is no task {task}" in result.stderr and "Traceback" not in result.output


def test_users_tasks_outside_one_to_nine_are_refused(tmp_path):
    result = runner.invoke(
        app, ["users", "add", "x", "--role", "task_owner", "--tasks", "3,12", "-w", str(tmp_path)]
    )
    assert result.exit_code == 2 and "there is no task 12" in result.stderr


def test_a_users_mistake_is_a_message_and_exit_2(tmp_path):
    result = runner.invoke(app, ["layers", "-w", str(tmp_path / "missing.gpkg")])
    assert result.exit_code == 2
    assert result.stderr.startswith("parkplan: error: ") and "Traceback" not in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"parkplan \d+\.\d+\S*\n", result.stdout)


def test_init_takes_workspace_option_and_environment(tmp_path):
    by_option = tmp_path / "option.gpkg"
    result = runner.invoke(app, ["init", "-w", str(by_option)])
    assert result.exit_code == 0, result.output
    assert by_option.exists()
    by_env = tmp_path / "env.gpkg"
    result = runner.invoke(app, ["init", "--exist-ok"], env={"PARKPLAN_WORKSPACE": str(by_env)})
    assert result.exit_code == 0, result.output
    assert by_env.exists() and str(by_env) in result.stdout


HEAVY = ("geopandas", "pandas", "shapely", "sqlalchemy", "folium", "panel", "pulp")


@pytest.mark.parametrize("args", [["--help"], ["tasks", "--help"], ["tasks", "list", "--help"]])
def test_help_imports_no_heavy_library(args):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from parkplan.cli import app; app()", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage:" in proc.stdout
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert imported & set(HEAVY) == set()
    stores = [line for line in proc.stderr.splitlines() if "parkplan.store" in line]
    assert stores == []


@pytest.mark.parametrize(
    "args", [["journal"], ["risks", "list"], ["kpis", "list", "--format", "json"]]
)
def test_as_of_lists_the_records_as_they_stood(demo_gpkg, args):
    def listing(*extra):
        result = runner.invoke(app, [*args, *extra, "--as", "convenor", "-w", str(demo_gpkg)])
        assert result.exit_code == 0, result.output
        return result.stdout

    now, long_ago = listing(), listing("--as-of", "2000-01-01")
    assert now.strip() and len(long_ago) < len(now)

"""`tori ARGUMENTS` run inside the test process, with what a separate process would get: its own
environment variables, its own event loop (a helper thread), no translations loaded (a command
that never loads them prints English), its stdout and stderr captured and its exit status.

A separate process starts an interpreter and imports the whole application for each command:
about 2 s of CPU, and the commands' tests ran over 40 of them. The entry point itself (`python -m
app.cli`, its exit status) keeps tests of its own that start a process:
test_database.py::test_production_mode_with_a_default_secret_refuses_to_start and the tests
that serve (test_behind_nginx.py, test_readme_production.py, test_metrics.py, the browser
tests' server)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from app import i18n
from app.cli import main


@contextlib.contextmanager
def no_catalogs() -> Iterator[None]:
    """The translations as a new process has them: none until something loads them."""
    loaded = dict(i18n._catalogs)
    i18n._catalogs.clear()
    try:
        yield
    finally:
        i18n._catalogs.clear()
        i18n._catalogs.update(loaded)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_tori(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`tori ARGUMENTS` with `env` added to the environment; what it printed and its exit status,
    as `subprocess.run(..., capture_output=True, text=True)` gives them (an uncaught exception is
    status 1 with its traceback on stderr, as the interpreter would exit)."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        try:
            return main(list(arguments))
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code
            return code if isinstance(code, int) else int(code is not None)
        except Exception:
            traceback.print_exc(file=err)
            return 1

    with (
        environment(env or {}),
        no_catalogs(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        ThreadPoolExecutor(max_workers=1) as executor,
    ):
        status = executor.submit(run).result(timeout=300)
    return subprocess.CompletedProcess(["tori", *arguments], status, out.getvalue(), err.getvalue())

"""The Dockerfile's install and start steps, in a fresh virtual environment (no Docker here).

Like the image: build leanon's wheel from the sources, install it into a new venv, run
`leanon run` from there until /readyz answers 200, and `leanon healthcheck` (the image's
HEALTHCHECK). The dependencies come from this test's environment through a .pth file,
because tests have no network; `pip check` proves they satisfy the wheel's requirements.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

import aiohttp

from tests.ops.leanon_process import ROOT, LeanonProcess, free_port, leanon_env
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import SECRET

SOURCES = ("pyproject.toml", "README.md", "bot", "adapters", "storage")


async def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    """Run `command` away from this checkout (cwd and PYTHONPATH); its output."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = await asyncio.create_subprocess_exec(
        *map(str, command), env=env, cwd=tempfile.gettempdir(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, out.decode()
    return out.decode()


def copy_sources(to: Path) -> None:
    to.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, to / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, to / name)


async def test_the_wheel_installs_into_a_fresh_venv_and_starts_until_ready(
        fake: FakeSlack, tmp_path: Path) -> None:
    source, wheels, venv, work = (tmp_path / n for n in ("src", "wheels", "venv", "work"))
    copy_sources(source)
    work.mkdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    await run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir",
              wheels, source)
    [wheel] = wheels.glob("leanon-*.whl")
    await run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    await run(*pip, "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)
    site = Path(await run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.as_posix().strip()) / "_test_dependencies.pth").write_text("\n".join(sorted(here)))
    await run(*pip, "--python", python, "check")
    installed = await run(python, "-c", "import bot, storage; print(bot.__file__, storage.__file__)")
    assert all(path.startswith(str(venv)) for path in installed.split()), installed  # not the checkout

    env = leanon_env(f"sqlite:///{work / 'leanon.db'}", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                     LEANON_PORT=str(free_port()))
    del env["PYTHONPATH"]
    leanon = LeanonProcess(env, work, command=[str(venv / "bin" / "leanon")])
    try:
        await leanon.start()
        async with aiohttp.ClientSession() as session:
            await leanon.wait_ready(session)
        await run(venv / "bin" / "leanon", "healthcheck", env=env)
        assert await leanon.terminate() == 0
    finally:
        await leanon.stop()
    assert "Traceback" not in leanon.stderr()

"""Every Python block of the README runs, and prints what its comments promise."""

import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[index]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README block {index}", "exec"), {"__name__": "__readme__"})
    promised = [
        line.split("# ", 1)[1]
        for line in code.splitlines()
        if line.startswith("print(") and "# " in line
    ]
    assert printed.getvalue().splitlines() == promised


def test_first_command_pretrains_then_fills_a_mask():
    """The README's first command installs, runs `textbones pretrain` and then `fill-mask` on
    its output (tests/cli runs both commands for real, on a small corpus)."""
    first_block = README.read_text(encoding="utf-8").split("```bash", 1)[1].split("```")[0]
    first_command = next(
        line for line in first_block.splitlines() if line.startswith("python3 -m venv")
    )
    steps = [step.strip() for step in first_command.split("&&")]
    assert steps[1] == '.venv/bin/pip install -e ".[jax]"'
    assert steps[2] == ".venv/bin/textbones pretrain --out ./my_bert"
    assert steps[3].startswith(".venv/bin/textbones fill-mask ./my_bert ") and "[MASK]" in steps[3]


def test_quickstart_script_runs():
    """examples/quickstart.py, which the README points to, runs and prints what it says."""
    import subprocess
    import sys

    script = README.parent / "examples" / "quickstart.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "BertBackbone: 10,029,312 parameters"
    assert "same outputs: True" in lines[3]
    assert lines[4] == "bert_tiny_en_uncased architecture (no download): 4,385,920 parameters"
    assert result.stderr.strip() == ""

"""The default agent: Inspect's react() loop with a shell, Python and a file editor."""

from inspect_ai.agent import Agent, react
from inspect_ai.tool import bash, python, text_editor

AGENT_INSTRUCTIONS = """You are an expert machine-learning engineer working in a sandbox. Use the tools to
read the files in the current directory, run code, and edit files. Verify your work by running it.
When you are done, call submit() with a one-line summary."""


def vsd_agent(tool_timeout: int) -> Agent:
    """react() with bash(), python() and text_editor(), each call bounded by `tool_timeout` s.

    text_editor() runs Inspect's bundled sandbox-tools binary inside the sandbox; it was checked
    to work in the local and the Docker sandbox (its first call injects the binary, ~10 s).
    """
    return react(
        prompt=AGENT_INSTRUCTIONS,
        tools=[bash(timeout=tool_timeout), python(timeout=tool_timeout), text_editor(timeout=tool_timeout)],
    )

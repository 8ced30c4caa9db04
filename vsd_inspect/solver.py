"""The default agent: Inspect's react() loop with a shell and a Python tool."""

from inspect_ai.agent import Agent, react
from inspect_ai.tool import bash, python

AGENT_INSTRUCTIONS = """You are an expert machine-learning engineer working in a sandbox. Use the tools to
read the files in the current directory, run code, and edit files. Verify your work by running it.
When you are done, call submit() with a one-line summary."""


def vsd_agent(tool_timeout: int) -> Agent:
    """react() with bash() and python(), each call bounded by `tool_timeout` seconds.

    text_editor() is left out: it needs Inspect's sandbox-tools binary running inside the
    sandbox, which the local sandbox and the offline-built Docker image do not both offer;
    bash and python cover reading and editing files everywhere.
    """
    return react(
        prompt=AGENT_INSTRUCTIONS,
        tools=[bash(timeout=tool_timeout), python(timeout=tool_timeout)],
    )

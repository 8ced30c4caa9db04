"""Every default and version in one place."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
PROMPTS_DIR = PACKAGE_DIR / "prompts"
CONCEPTS_DIR = PACKAGE_DIR / "concepts"
# The seed's fixed file: the `vsd/recall` baseline writes exactly these bytes, whatever the sample.
SEED_REFERENCE_FILE = CONCEPTS_DIR / "vsd" / "reference.py"
SANDBOX_DIR = PACKAGE_DIR / "sandbox"
COMPOSE_FILE = SANDBOX_DIR / "compose.yaml"

# Bump whenever the prompt, a starter, the visible test, the hidden checks or the grader
# change: every score records it, and reports never pool two versions.
TASK_VERSION = "2.0.0"
TASK_NAME = "vsd_dropout"

CANDIDATE_FILE = "dropout.py"
TEST_FILE = "test_dropout.py"

DEFAULT_DIFFICULTY = "standard"
DIFFICULTIES = ("easy", "standard", "hard")
DEFAULT_RATES = (0.3, 0.5, 0.7)
DEFAULT_TOLERANCE = 0.10

# Agent budget: react() has no message limit of its own.
DEFAULT_MESSAGE_LIMIT = 40
DEFAULT_TOKEN_LIMIT = 200_000
DEFAULT_TIME_LIMIT = 900  # seconds of working time per sample
DEFAULT_TOOL_TIMEOUT = 60  # seconds per bash / python call

# Sandbox inside the containers (see sandbox/compose.yaml).
CONTAINER_WORKDIR = "/home/agent/work"
CONTAINER_GRADING_DIR = "/home/agent/grading"

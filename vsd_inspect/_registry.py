"""What the inspect_ai entry point loads: the task and the vsd/* policy provider."""

from vsd_inspect.policies import vsd_policies  # noqa: F401
from vsd_inspect.task import vsd_dropout  # noqa: F401

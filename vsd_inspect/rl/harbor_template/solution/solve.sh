#!/bin/bash
# The oracle: put the reference fix in place of the buggy starter.
set -euo pipefail
cp "$(dirname "${BASH_SOURCE[0]}")/dropout.py" @@WORKSPACE@@/dropout.py

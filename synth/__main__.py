"""`python -m synth`: the `synth` command."""

import sys

from synth.cli import main

sys.exit(main())

"""`python -m train`: the `train` command."""

import sys

from train.cli import main

sys.exit(main())

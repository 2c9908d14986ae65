"""`python -m relance …`: the `relance` command."""
import sys

from .launcher import main

sys.exit(main())

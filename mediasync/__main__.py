"""`python -m mediasync`: the `mediasync` command."""

import sys

from mediasync.cli import main

sys.exit(main())

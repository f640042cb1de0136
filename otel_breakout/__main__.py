import sys

from otel_breakout.cli import main

sys.exit(main())

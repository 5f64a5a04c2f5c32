import sys

from cppsns3.cli import main

sys.exit(main())

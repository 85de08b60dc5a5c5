import sys

from rlhfbook.book.cli import main

sys.exit(main())

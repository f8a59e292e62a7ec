"""`python -m cloudinary_emulator`: the emulator command line."""

from cloudinary_emulator.cli import main

raise SystemExit(main())

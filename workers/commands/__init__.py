"""One module per `mediasync` subcommand: each has register(subparsers) and a handler."""

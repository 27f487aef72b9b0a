"""Running a script's ``main`` in-process, as a test does for all four CLIs."""


def call(main, argv) -> int:
    """``main(argv)`` with every argument as a string; the exit status (0 when ``main`` returns)."""
    try:
        main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code
    return 0

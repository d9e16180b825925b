"""`python -m app …` — the same entry as the `edge-studio` command (children re-enter here)."""
import os
import sys

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_child":
        from jobs.child import child_main

        code = child_main(sys.argv[2])
        # Skip static destructors: Lite 2.0 can crash at exit after a FULL_QUANT conversion,
        # and the answer has already been written.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    from app.cli import main

    sys.exit(main())

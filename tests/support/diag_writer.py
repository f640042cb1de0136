"""A child process that writes diagnostics events, for the multi-process and crash tests.

``python -m tests.support.diag_writer DIR SESSION WRITER THREADS EVENTS [--forever] [--max-bytes N]``
records ``THREADS x EVENTS`` filter events whose payload names the writer, thread and sequence number,
then prints the collector's snapshot as JSON. With ``--forever`` it keeps recording (for SIGKILL), printing
``recorded <n>`` after each round so the parent knows what must have reached the journal.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from otel_breakout import DiagnosticsCollector, Settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("session")
    parser.add_argument("writer")
    parser.add_argument("threads", type=int)
    parser.add_argument("events", type=int)
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--max-bytes", type=int, default=None)
    args = parser.parse_args(argv)
    environ = {"OTEL_BREAKOUT_DIAG_MAX_FILE_BYTES": str(args.max_bytes)} if args.max_bytes else {}
    collector = DiagnosticsCollector(
        session_id=args.session,
        output_dir=args.directory,
        settings=Settings.from_env(environ),
        sinks=["jsonl"],
        queue_size=max(1024, args.threads * args.events * 2),
        flush_interval=0.05,
    )
    if args.forever:
        sequence = 0
        while True:
            for _ in range(args.events):
                collector.record_filter(
                    "crash", "BTCUSDT", "min_volume", float(sequence), 1e9, False, {"seq": sequence, "pad": "x" * 200}
                )
                sequence += 1
            print(f"recorded {sequence}", flush=True)
            time.sleep(0.01)

    def work(thread: int) -> None:
        for sequence in range(args.events):
            collector.record_filter(
                "concurrency",
                f"SYM{sequence % 500}",
                "min_volume",
                float(sequence),
                10.0,
                sequence % 3 != 0,
                {"writer": args.writer, "thread": thread, "seq": sequence},
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A generous flush first: close() waits 10 s for the writer, which a loaded machine can exceed (what is
    # still queued then is counted as dropped, all:shutdown, and the test would see it in the snapshot).
    if not collector.flush(timeout=200.0):
        print("flush timed out", file=sys.stderr)
        return 1
    collector.close()
    print(json.dumps(collector.snapshot()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

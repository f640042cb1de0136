"""A child process that records events with every sink on while the journal cannot be written.

``python -m tests.support.diag_sinks DIR EVENTS [--fsize BYTES]`` records ``EVENTS`` failing filter
evaluations inside a span into a collector whose journal lives in ``DIR``, then prints one JSON object:
the ERROR lines logged by ``otel_breakout.diagnostics``, how many log records, span events and evaluations
the other sinks received, the collector's snapshot, and any exception the caller saw. ``--fsize`` first
caps the size of any file this process writes (``RLIMIT_FSIZE``): writes past it fail with EFBIG.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys

from otel_breakout import DiagnosticsCollector
from otel_breakout.testing import capture_telemetry


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("events", type=int)
    parser.add_argument("--fsize", type=int, default=None)
    args = parser.parse_args(argv)
    if args.fsize is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize, args.fsize))
    errors = _Errors()
    logging.getLogger("otel_breakout.diagnostics").addHandler(errors)
    capture = capture_telemetry()
    collector = DiagnosticsCollector(
        session_id="broken", output_dir=args.directory, telemetry=capture.telemetry, flush_interval=0.02
    )
    raised = None
    try:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            for n in range(args.events):
                extra = {"n": n, "pad": "p" * 100}
                collector.record_filter("universe", f"SYM{n}", "min_volume", 1.0, 100.0, False, extra)
                if n % 100 == 0:
                    collector.flush()
        collector.flush()
    except BaseException as exc:  # the point of the test: nothing may reach the caller
        raised = repr(exc)
    snapshot = collector.snapshot()
    logs = len(capture.logs())
    evaluations = sum(capture.metric_points("breakout.diag.evaluations").values())
    capture.close()
    span_events = sum(len(span.events) for span in capture.spans())
    print(
        json.dumps(
            {
                "errors": errors.messages,
                "logs": logs,
                "span_events": span_events,
                "evaluations": evaluations,
                "snapshot": snapshot,
                "raised": raised,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

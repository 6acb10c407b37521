"""A progress bar with an estimate of the time left, on stderr."""
import sys
import time

from .gate.files import shown


class Progress:
    """One line redrawn in place on a terminal; one line per submission otherwise."""

    def __init__(self, total, enabled=True, stream=None, width=30):
        self.total, self.enabled, self.width = total, enabled, width
        self.stream = stream or sys.stderr
        self.count = 0
        self.started = time.monotonic()
        self.interactive = getattr(self.stream, "isatty", lambda: False)()

    def eta(self):
        """Seconds left at the average pace so far, or None before the first result."""
        if self.count == 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.count * (self.total - self.count)

    def done(self, result):
        self.count += 1
        if not self.enabled:
            return
        filled = int(self.width * self.count / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        left = self.eta()
        line = (f"[{bar}] {self.count}/{self.total}  about {left:.0f} s left  "
                f"last: {shown(result.student_id)} {result.status} {result.score:g}/{result.max_score:g}")
        if self.interactive:
            self.stream.write("\r" + line[:150].ljust(150))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.enabled and self.interactive:
            self.stream.write("\n")
            self.stream.flush()

from worker.selectors import DispatchProgress


def progress_line(progress: DispatchProgress, width: int = 30) -> str:
    filled = round(width * progress.percent / 100)
    bar = "#" * filled + "-" * (width - filled)
    return (
        f"[{bar}] {progress.percent:3d}% {progress.status_display}: "
        f"{progress.sent} skickade, {progress.failed} misslyckade, "
        f"{progress.skipped} överhoppade, {progress.cancelled} avbrutna, "
        f"{progress.queued + progress.sending} kvar av {progress.planned}"
    )

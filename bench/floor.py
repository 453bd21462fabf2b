"""The floor: what this machine and the sink allow, the limit a sending pipeline can approach.

The message is prepared as bytes before the clock starts; per recipient only the address,
the name and the personal links are joined in, and a bare smtplib loop sends it over one
persistent connection per process.
"""

import multiprocessing
import queue
import smtplib
import time

from bench.content import SENDER, bench_template, message_assemble, template_pieces


def _floor_process(host, port, pieces, recipients, ready, start, results) -> None:
    connection = smtplib.SMTP(host, port)
    connection.ehlo()
    ready.put(True)
    start.wait()
    began = time.monotonic()
    address_key = b"__BENCH_ADDRESS__"
    for values in recipients:
        connection.sendmail(
            SENDER,
            [values[address_key].decode()],
            message_assemble(pieces, values),
            mail_options=["BODY=8BITMIME"],
        )
    ended = time.monotonic()
    connection.quit()
    results.put((len(recipients), began, ended))


def floor_run(*, host: str, port: int, recipients: list[dict], processes: int = 1) -> dict:
    """Send one message to each recipient, split over `processes`; returns count and seconds.

    The clock starts when every process is connected and waiting, and stops when the last
    one has had its last message accepted.
    """
    context = multiprocessing.get_context("spawn")
    pieces = template_pieces(bench_template())
    ready, results = context.Queue(), context.Queue()
    start = context.Event()
    shares = [recipients[index::processes] for index in range(processes)]
    workers = [
        context.Process(
            target=_floor_process, args=(host, port, pieces, share, ready, start, results)
        )
        for share in shares
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)
    began = time.monotonic()
    start.set()
    try:
        # Generous: even at 50 messages/s this is enough; a crashed sender must not hang us.
        outcomes = [results.get(timeout=max(120, len(recipients) / 50)) for _ in workers]
    except queue.Empty:
        for worker in workers:
            worker.terminate()
        raise RuntimeError("a floor process did not finish") from None
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"floor process exited with {worker.exitcode}")
    seconds = max(ended for _, _, ended in outcomes) - began
    return {"messages": sum(count for count, _, _ in outcomes), "seconds": seconds}

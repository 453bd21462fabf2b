"""The floors: what this machine and the sink allow, the limits a sending pipeline can approach.

The message is prepared as bytes before the clock starts; per recipient only the address,
the name and the personal links are joined in. The smtplib floor sends it with a bare
`sendmail` loop over one persistent connection per process (four round trips per message).
The pipelined floor sends it over C connections from one process on asyncio, one round trip
per message (RFC 2920): the end of one message's DATA and the next MAIL/RCPT/DATA in one
write. Each process reports the CPU seconds it used while sending.
"""

import asyncio
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
    cpu = time.process_time()
    address_key = b"__BENCH_ADDRESS__"
    for values in recipients:
        connection.sendmail(
            SENDER,
            [values[address_key].decode()],
            message_assemble(pieces, values),
            mail_options=["BODY=8BITMIME"],
        )
    ended = time.monotonic()
    cpu = time.process_time() - cpu
    connection.quit()
    results.put((len(recipients), began, ended, cpu))


async def _pipelined_connection(host, port, pieces, recipients, opened, start) -> int:
    """One connection's share: envelope, then body + next envelope per write, reply by reply."""
    reader, writer = await asyncio.open_connection(host, port)

    async def reply() -> int:
        while True:
            line = await reader.readuntil(b"\r\n")
            if line[3:4] != b"-":
                return int(line[:3])

    assert await reply() == 220
    writer.write(b"EHLO floor\r\n")
    assert await reply() == 250
    opened.release()
    await start.wait()
    address_key = b"__BENCH_ADDRESS__"
    sender = SENDER.encode()

    def envelope(values) -> bytes:
        return b"MAIL FROM:<%s> BODY=8BITMIME\r\nRCPT TO:<%s>\r\nDATA\r\n" % (
            sender,
            values[address_key],
        )

    if not recipients:
        return 0
    writer.write(envelope(recipients[0]))
    for index, values in enumerate(recipients):
        if index:
            assert await reply() == 250  # the previous message
        codes = (await reply(), await reply(), await reply())
        assert codes == (250, 250, 354), codes
        message = message_assemble(pieces, values)
        if b"\n." in message:
            message = message.replace(b"\r\n.", b"\r\n..")
        payload = message + b".\r\n"
        if index + 1 < len(recipients):
            payload += envelope(recipients[index + 1])
        writer.write(payload)
        await writer.drain()
    assert await reply() == 250
    writer.write(b"QUIT\r\n")
    writer.close()
    return len(recipients)


def _pipelined_process(host, port, pieces, recipients, connections, ready, start, results):
    async def main():
        opened = asyncio.Semaphore(0)
        go = asyncio.Event()
        shares = [recipients[index::connections] for index in range(connections)]
        tasks = [
            asyncio.create_task(_pipelined_connection(host, port, pieces, share, opened, go))
            for share in shares
        ]
        for _ in tasks:
            await opened.acquire()
        ready.put(True)
        await asyncio.get_running_loop().run_in_executor(None, start.wait)
        began = time.monotonic()
        cpu = time.process_time()
        go.set()
        counts = await asyncio.gather(*tasks)
        ended = time.monotonic()
        results.put((sum(counts), began, ended, time.process_time() - cpu))

    asyncio.run(main())


def floor_run(
    *,
    host: str,
    port: int,
    recipients: list[dict],
    processes: int = 1,
    pipelined_connections: int = 0,
) -> dict:
    """Send one message to each recipient, split over `processes`; returns count and seconds.

    With `pipelined_connections` C each process sends pipelined over C connections instead of
    smtplib over one. The clock starts when every process is connected and waiting, and stops
    when the last one has had its last message accepted.
    """
    context = multiprocessing.get_context("spawn")
    pieces = template_pieces(bench_template())
    ready, results = context.Queue(), context.Queue()
    start = context.Event()
    shares = [recipients[index::processes] for index in range(processes)]
    if pipelined_connections:
        workers = [
            context.Process(
                target=_pipelined_process,
                args=(host, port, pieces, share, pipelined_connections, ready, start, results),
            )
            for share in shares
        ]
    else:
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
    seconds = max(ended for _, _, ended, _ in outcomes) - began
    return {
        "messages": sum(count for count, _, _, _ in outcomes),
        "seconds": seconds,
        "cpu_seconds": sum(cpu for _, _, _, cpu in outcomes),
    }

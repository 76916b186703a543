"""The queue between a stream's threads and its WebSocket is bounded: a reader thread waits while it is full,
and a client that leaves it full too long is dropped, not buffered for."""

import asyncio
import threading

from apps.streams.logs import ClientQueue


def test_a_full_queue_holds_the_thread_back_then_drops_a_client_that_does_not_read(settings):
    settings.TUTUM_STREAM_SLOW_CLIENT_SECONDS = 1

    async def scenario():
        slow = asyncio.Event()
        queue = ClientQueue(asyncio.get_running_loop(), on_slow=slow.set, size=3)
        answers = []
        thread = threading.Thread(target=lambda: answers.extend(queue.put(n) for n in range(6)))
        thread.start()
        await asyncio.wait_for(slow.wait(), 5)  # nobody reads: after 1 s the client is too slow
        await asyncio.to_thread(thread.join, 5)
        held = [queue.queue.get_nowait() for _ in range(queue.queue.qsize())]
        return answers, held

    answers, held = asyncio.run(scenario())
    assert answers == [True, True, True, False, False, False]
    assert held == [0, 1, 2], "never more than the queue's size is kept for a client"


def test_a_reading_client_gets_every_message_in_order(settings):
    settings.TUTUM_STREAM_SLOW_CLIENT_SECONDS = 5

    async def scenario():
        queue = ClientQueue(asyncio.get_running_loop(), on_slow=lambda: None, size=2)
        thread = threading.Thread(target=lambda: [queue.put(n) for n in range(50)])
        thread.start()
        received = [await queue.get() for _ in range(50)]
        await asyncio.to_thread(thread.join, 5)
        return received

    assert asyncio.run(scenario()) == list(range(50))

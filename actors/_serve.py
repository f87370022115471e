"""The message loop of one incarnation: the hottest code in the runtime."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from trio.lowlevel import current_task, wait_task_rescheduled

from ._actor import ActorContext
from ._mailbox import Ask, Told
from ._messages import DeadLetterReason
from ._tracing import HOOK

BATCH = 128
"""Messages handled back to back before the loop yields to other tasks (fairness)."""

SAMPLE_EVERY = 16
"""One message in this many has its handling time measured (``MailboxStatistics.timed``):
enough for a mean latency in ``system.tree()``, at a sixteenth of the cost of timing each."""


async def serve(ctx: ActorContext) -> None:
    """Handle messages until a stop is requested or the mailbox closes.

    Returns normally on a stop; a handler's undeclared exception propagates (a crash) with the
    message left in ``ctx.in_hand`` for the caller to fail or dead-letter. Messages still queued
    stay in the mailbox for the next incarnation.

    The loop runs in one cancel scope that lives until an asker gives up on the request in
    hand (its deadline passed, or it was cancelled): the ask cancels the scope, the handler
    is cancelled at its next checkpoint, and the loop goes on in a fresh scope. So giving up
    reaches the callee's work without a cancel scope per message.
    """
    mailbox = ctx.cell.mailbox
    # An actor nobody has sent anything yet holds no cancel scope and no loop frame: idle
    # actors are the many (about 1 KiB each saved; benchmarks/scale.py counts them).
    if not mailbox._items and not mailbox.closed and not ctx.stopping:
        await mailbox.wait_nonempty()
    while True:
        with trio.CancelScope() as scope:
            if await _serve(ctx, scope):
                return
            continue  # the scope was cancelled after its handler returned: take a fresh one
        # Only an asker that gave up cancels this scope: its handler was cancelled.
        item = ctx.in_hand
        ctx.in_hand = None
        if type(item) is Ask:
            item._scope = None
            mailbox.processed += 1


async def _serve(ctx: ActorContext, scope: trio.CancelScope) -> bool:
    """The loop itself: True when it ends (a stop, or the mailbox closed), False when
    ``scope`` must be replaced (an asker gave up as its handler returned: the cancellation
    must not reach the next handler)."""
    mailbox = ctx.cell.mailbox
    dead_letters = ctx.system.dead_letters
    receive = ctx.actor.receive
    reply_errors = ctx.actor.reply_errors
    name = ctx.cell.name
    abort = mailbox.abort_receive
    task = current_task()
    system = ctx.system
    clock = time.perf_counter
    sample = 1  # the first message is timed, then one in SAMPLE_EVERY
    current_time = trio.current_time
    inf = math.inf
    while not ctx.stopping:
        # Read once per wake-up, not per message: None (the default) costs one test below.
        observer = system._handling_observer
        items = mailbox._items
        if not items:
            if mailbox.closed:
                return True
            # Inlined Mailbox.wait_nonempty: park until a sender (or a stop) wakes us.
            mailbox._receiver = task
            await wait_task_rescheduled(abort)
            continue
        budget = BATCH
        while items:
            item = items.popleft()
            if mailbox._senders:  # the freed slot goes to the oldest waiter, nobody else
                mailbox.admit_waiter()
            if type(item) is Ask:
                deadline = item.own_deadline
                if deadline != inf and deadline <= current_time():
                    # It expired in the mailbox: skipped; its asker gets AskTimeout.
                    item.expire()
                    dead_letters.record(name, item.message, DeadLetterReason.EXPIRED)
                    continue
                if not item.pending:  # the asker gave up while it was queued
                    # (by its own cancel scopes, their deadline included: "cancelled")
                    dead_letters.record(name, item.message, DeadLetterReason.CANCELLED)
                    continue
                sample -= 1
                started = clock() if observer is not None or not sample else 0.0
                ctx.in_hand = item
                item._scope = scope  # the asker giving up cancels the handler
                try:
                    if item.trace is None:
                        result = await receive(item.message)
                    else:  # handled in the asker's tracing context (actors/_tracing.py)
                        result = await _traced(receive, item.message, item.trace)
                except reply_errors as exc:
                    mailbox.failed += 1
                    item.fail(exc)
                else:
                    if ctx.in_hand is item:  # else the handler deferred its reply
                        item.reply(result)
                item._scope = None
                if scope.cancel_called:  # its asker gave up too late to cancel it
                    ctx.in_hand = None
                    mailbox.processed += 1
                    return False
            elif type(item) is Told:  # a tell sent inside a trace: in the sender's context
                sample -= 1
                started = clock() if observer is not None or not sample else 0.0
                message = ctx.in_hand = item.message
                try:
                    await _traced(receive, message, item.trace)
                except reply_errors:
                    mailbox.failed += 1
                    dead_letters.record(name, message, DeadLetterReason.FAILED)
            else:
                sample -= 1
                started = clock() if observer is not None or not sample else 0.0
                ctx.in_hand = item
                try:
                    await receive(item)
                except reply_errors:
                    mailbox.failed += 1
                    dead_letters.record(name, item, DeadLetterReason.FAILED)
            if started:
                elapsed = clock() - started
                if not sample:  # one message in SAMPLE_EVERY is timed for system.tree()
                    sample = SAMPLE_EVERY
                    mailbox.timed += 1
                    mailbox.timed_seconds += elapsed
                if observer is not None:
                    observer(name, elapsed)
            ctx.in_hand = None
            mailbox.processed += 1
            if ctx.stopping:
                return True
            budget -= 1
            if not budget:
                await trio.lowlevel.checkpoint()
                break
    return True


async def _traced(
    receive: Callable[[Any], Awaitable[Any]], message: object, context: object
) -> Any:
    """``receive(message)`` with the sender's tracing ``context`` attached."""
    tracer = HOOK.tracer
    if tracer is None:  # removed since the message was sent
        return await receive(message)
    token = tracer.attach(context)
    try:
        return await receive(message)
    finally:
        tracer.detach(token)

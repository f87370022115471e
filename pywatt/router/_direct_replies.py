"""Replies resolved by the connection that read them, without a hop through the router.

A reply to a request this module sent is read by a connection's reader task. Told to the
router as a message, it costs a mailbox put, a wake-up of the router's task and one more
pass of the scheduler before the asker wakes. The running router incarnation instead lends
its reply handler here (:attr:`DirectReplies.hook`, set in ``on_start`` and taken back in
``on_stop``), and the connections call :meth:`DirectReplies.on_reply` for each reply as
they read it: the asker is answered in the reader's own step. The router's state is only
ever touched from the one trio thread, and a reply is handled in one synchronous call, so
nothing interleaves with the router's own messages.

Requests to this module take the same way (:attr:`DirectReplies.serve`): a request for an
endpoint served by a function, read while nothing waits in the router's mailbox, is served
in the reader's step (``Router._serve_now``) and its reply queued at once; anything else
(a notification, whose order the mailbox keeps; an actor or streamed endpoint; a busy
router) is told to the router as before.

While no incarnation runs (a restart), :attr:`hook` is None and replies go to the router's
mailbox, as before. A hook that raises is taken away and the router is told the error, and
crashes with it as it would have handling the reply itself (its asks fail at once, and it
restarts; what others told it survives in the name's tables).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from pywatt.wire import RoutedModuleMessage, RoutedModuleResponse

__all__ = ["DirectReplies"]


@attrs.define
class DirectReplies:
    """The router's reply handler, lent to the connections (see the module docstring)."""

    hook: Callable[[str, RoutedModuleResponse], None] | None = None
    """The running router incarnation's reply handler; None while none runs."""
    serve: Callable[[str, RoutedModuleMessage], bool] | None = None
    """The running router incarnation's request server; None while none runs."""

    def on_reply(self, channel: str, reply: RoutedModuleResponse | RoutedModuleMessage) -> bool:
        """Handle ``reply`` (or request, read on ``channel``) now; False when it must be told
        to the router instead (no router runs; a request it does not serve now). Does not
        block or raise."""
        if type(reply) is RoutedModuleResponse:
            hook = self.hook
            if hook is None:
                return False
            hook(channel, reply)
            return True
        serve = self.serve
        return serve is not None and type(reply) is RoutedModuleMessage and serve(channel, reply)

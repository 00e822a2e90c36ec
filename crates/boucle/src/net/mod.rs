//! Sockets and asyncio streams on the loop's reactor.

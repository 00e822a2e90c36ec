//! Synchronization for tasks of one loop (asyncio's queues and locks).

//! Async iteration (`async for`): streams and their combinators.

//! Redis Streams transport for clamator (in progress).

"""Property tests (hypothesis) for the pure functions that take untrusted structure."""

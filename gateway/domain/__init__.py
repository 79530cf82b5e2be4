"""Domain logic: plain Python, no I/O, fed the current time."""

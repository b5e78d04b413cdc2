"""Jobs: groups of a primer and followers, fair lanes, retries, and an event log.

Built as ordinary tasks on the kernel: a dispatcher task and one task per running job.
"""

"""Runs seen and steered from other processes: the event log, the control socket, attach, detach."""

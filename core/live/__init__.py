"""A run outliving its terminal: the event log (events.jsonl) and the control socket (control.sock)."""

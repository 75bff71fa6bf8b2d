"""The Textual monitor, driven through its pilot at 80x24 and 120x40, with fakes and real runs."""

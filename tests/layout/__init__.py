"""The code's shape: one import name, no circles, a core that runs without the monitor."""

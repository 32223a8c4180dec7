"""A run's results on disk: writing them (validated, atomic), the output index, the run manifest, the output lock."""

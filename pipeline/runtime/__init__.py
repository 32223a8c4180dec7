"""How work runs, whatever the work is: worker processes with time and memory limits, interrupts, task batches."""

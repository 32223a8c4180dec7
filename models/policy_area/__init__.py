"""The policy-area (CAP major topic) classifier: training recipe (train.py), data (data/), artifact and card."""

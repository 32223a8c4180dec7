"""The focus-area classifier: training recipe (train.py), labelled data (data/), shipped artifact and card."""

"""Models: the Norwegian spaCy pipeline and the focus-area classifier (recipes, cards, artifacts)."""

"""What the notebook says: reading, selecting, analysing and extracting feature cells."""

"""The team's feature helpers, kept beside the notebook (as in the Hopsworks course's `sml`)."""

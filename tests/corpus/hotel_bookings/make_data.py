"""Data for hotel_bookings: bookings with a later reservation-status date (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2015)
Path("data").mkdir(exist_ok=True)
n = 900
booked = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
    rng.choice(180 * 24 * 60, n, replace=False), unit="min"
)
lead = rng.integers(0, 120, n)
arrival = (booked + pd.to_timedelta(lead, unit="D")).normalize()
weekend = rng.integers(0, 3, n)
week = rng.integers(0, 6, n)
status_date = arrival + pd.to_timedelta(weekend + week, unit="D")
bookings = pd.DataFrame(
    {
        "booking_id": np.arange(n),
        "customer_id": rng.integers(1, 300, n),
        "hotel": rng.choice(["Resort Hotel", "City Hotel"], n),
        "booked_on": booked.strftime("%Y-%m-%d %H:%M:%S"),
        "arrival_date": arrival.strftime("%Y-%m-%d"),
        "stays_in_weekend_nights": weekend,
        "stays_in_week_nights": week,
        "adults": rng.integers(1, 4, n),
        "children": np.where(rng.uniform(0, 1, n) < 0.05, np.nan, rng.integers(0, 3, n)),
        "babies": rng.integers(0, 2, n) * (rng.uniform(0, 1, n) < 0.1),
        "adr": rng.gamma(4, 25, n).round(2),
        "total_of_special_requests": rng.integers(0, 4, n),
        "reservation_status_date": status_date,
    }
)
bookings.to_parquet("data/hotel_bookings.parquet", index=False)

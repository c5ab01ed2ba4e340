"""Data for iot_sensors: machine readings in UTC, ambient readings in local New York time."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(42)
Path("data").mkdir(exist_ok=True)
start = pd.Timestamp("2024-07-01", tz="UTC")
devices = [f"dev-{i:02d}" for i in range(8)]
site_of = {d: ["hall-a", "hall-b"][i % 2] for i, d in enumerate(devices)}
n = 1500
device = rng.choice(devices, n)
readings = pd.DataFrame(
    {
        "device_id": device,
        "site": [site_of[d] for d in device],
        "ts": start + pd.to_timedelta(rng.choice(5 * 86400, n, replace=False), unit="s"),
        "temperature_c": rng.normal(60, 8, n).round(2),
        "vibration_mm_s": rng.gamma(2, 1.5, n).round(3),
    }
).sort_values("ts")
readings["ts"] = readings["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
readings.to_csv("data/machine_readings.csv", index=False)

# The building system logs ambient temperature every 10 minutes in local wall-clock time.
local = pd.date_range("2024-06-30 16:00", "2024-07-06 06:00", freq="10min")
hour = local.hour + local.minute / 60
ambient = pd.concat(
    [
        pd.DataFrame(
            {
                "site": site,
                "local_time": local.strftime("%Y-%m-%d %H:%M"),
                "ambient_c": (18 + 8 * np.sin((hour - 9) / 24 * 2 * np.pi) + offset).round(2),
            }
        )
        for site, offset in [("hall-a", 0.0), ("hall-b", 1.5)]
    ]
)
ambient.to_csv("data/ambient_local.csv", index=False)

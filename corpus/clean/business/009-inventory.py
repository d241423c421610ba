"""Nightly stock reconciliation between the WMS and the ERP.

Run by cron at 02:15. Writes differences to reports/stock_diff_<date>.csv and
posts a summary to #warehouse-ops if more than 20 SKUs differ.
"""
import csv
import datetime as dt

from erp import fetch_stock as erp_stock
from wms import fetch_stock as wms_stock

THRESHOLD = 20


def reconcile(warehouse: str) -> list[dict]:
    erp = erp_stock(warehouse)
    wms = wms_stock(warehouse)
    diffs = []
    for sku in sorted(set(erp) | set(wms)):
        a, b = erp.get(sku, 0), wms.get(sku, 0)
        if a != b:
            diffs.append({"sku": sku, "erp": a, "wms": b, "delta": b - a})
    return diffs


def write_report(diffs: list[dict]) -> str:
    path = f"reports/stock_diff_{dt.date.today():%Y%m%d}.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["sku", "erp", "wms", "delta"])
        w.writeheader()
        w.writerows(diffs)
    return path

"""The cycle retrospective: figures from the store, a report to forward, a next-cycle proposal."""
